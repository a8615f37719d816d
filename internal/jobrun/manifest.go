package jobrun

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// Manifest is one object to apply and where it came from.
type Manifest struct {
	// Source names the file and document: "examples/pi.yaml#1".
	Source string
	Object *unstructured.Unstructured
}

// Stdin is the path that stands for standard input in ReadManifests.
const Stdin = "-"

// manifestExts are the file names a directory contributes.
var manifestExts = []string{".yaml", ".yml", ".json"}

// ReadManifests reads the objects of every path, in order: a file holds
// one or more YAML documents or JSON objects (a List's items count as
// objects of their own), a directory contributes its .yaml, .yml and .json
// files in name order (not recursively), and "-" is stdin. Every error is
// a usage error (ExitUsage).
func ReadManifests(paths []string, stdin io.Reader) ([]Manifest, error) {
	if len(paths) == 0 {
		return nil, Usage(errors.New("no manifests: give one or more files, directories or -f - for stdin"))
	}
	var out []Manifest
	readStdin := false
	for _, p := range paths {
		if p == Stdin {
			if readStdin {
				return nil, Usage(errors.New("stdin (-) given more than once"))
			}
			readStdin = true
			ms, err := decodeManifests("stdin", stdin)
			if err != nil {
				return nil, Usage(err)
			}
			out = append(out, ms...)
			continue
		}
		files, err := manifestFiles(p)
		if err != nil {
			return nil, Usage(err)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				return nil, Usage(fmt.Errorf("reading manifest: %w", err))
			}
			ms, err := decodeManifests(f, bytes.NewReader(b))
			if err != nil {
				return nil, Usage(err)
			}
			out = append(out, ms...)
		}
	}
	if len(out) == 0 {
		return nil, Usage(fmt.Errorf("no objects in %s", strings.Join(paths, ", ")))
	}
	return out, nil
}

// manifestFiles is path itself, or a directory's manifest files.
func manifestFiles(path string) ([]string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("reading manifest: %w", err)
	}
	if !fi.IsDir() {
		return []string{path}, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, fmt.Errorf("reading manifest directory: %w", err)
	}
	var files []string
	for _, e := range entries { // ReadDir sorts by name
		if !e.IsDir() && slices.Contains(manifestExts, filepath.Ext(e.Name())) {
			files = append(files, filepath.Join(path, e.Name()))
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("directory %s has no .yaml, .yml or .json files", path)
	}
	return files, nil
}

// decodeManifests splits a stream into objects.
func decodeManifests(source string, r io.Reader) ([]Manifest, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(r, 4096)
	var out []Manifest
	for doc := 1; ; doc++ {
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		where := fmt.Sprintf("%s#%d", source, doc)
		if err != nil {
			return nil, fmt.Errorf("decoding %s: %w", where, err)
		}
		if t := bytes.TrimSpace(raw); len(t) == 0 || bytes.Equal(t, []byte("null")) || bytes.Equal(t, []byte("{}")) {
			continue // an empty document, as between two "---"
		}
		u := &unstructured.Unstructured{}
		// Unstructured's own decoding keeps integers int64 (a plain
		// map decode would make them float64).
		if err := u.UnmarshalJSON(raw); err != nil {
			return nil, fmt.Errorf("decoding %s: %w", where, err)
		}
		if u.IsList() {
			list, err := u.ToList()
			if err != nil {
				return nil, fmt.Errorf("decoding %s: %w", where, err)
			}
			for i := range list.Items {
				item := &list.Items[i]
				iw := fmt.Sprintf("%s[%d]", where, i)
				if err := checkObject(item); err != nil {
					return nil, fmt.Errorf("%s: %w", iw, err)
				}
				out = append(out, Manifest{Source: iw, Object: item})
			}
			continue
		}
		if err := checkObject(u); err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		out = append(out, Manifest{Source: where, Object: u})
	}
}

// checkObject rejects what no server could take, before any is applied.
func checkObject(u *unstructured.Unstructured) error {
	switch {
	case u.GetAPIVersion() == "":
		return errors.New("object has no apiVersion")
	case u.GetKind() == "":
		return errors.New("object has no kind")
	case u.GetName() == "" && u.GetGenerateName() == "":
		return fmt.Errorf("%s has neither metadata.name nor metadata.generateName", u.GetKind())
	}
	return nil
}

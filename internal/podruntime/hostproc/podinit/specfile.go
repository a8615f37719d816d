package podinit

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// The Spec file (InitFile) is not JSON: decoding JSON in a fresh process
// builds encoding/json's per-type caches by reflection and runs code no
// other part of a start needs, some 0.15 ms of CPU on every container
// start. It is a sequence of NUL-terminated strings (NUL cannot occur in
// an argument, an environment entry or a path), grouped into records: a
// record is a key followed by the key's fixed number of values.
//
//	command <arg>                               once per argument, in order
//	env <name=value>                            once per entry, in order
//	workdir <path>
//	hostname <name>
//	user <uid> <gid>
//	group <gid>                                 once per supplementary group
//	mount <source> <target> ro|rw               in order
//	log <path> <max line size>
//	root <dir>
//	cgroup <dir> <mount> <controllers> own|shared   in order
//	oom <path>
//
// Unknown keys are an error: the runtime and the helper are installed
// together, so a mismatch is a broken installation, not something to
// skip.

// specValues returns the number of values key has, or false for an
// unknown key.
func specValues(key string) (int, bool) {
	switch key {
	case "command", "env", "workdir", "hostname", "group", "root", "oom":
		return 1, true
	case "user", "log":
		return 2, true
	case "mount":
		return 3, true
	case "cgroup":
		return 4, true
	}
	return 0, false
}

// MarshalBinary encodes s in the InitFile format.
func (s *Spec) MarshalBinary() ([]byte, error) {
	var b []byte
	var bad error
	add := func(key string, vals ...string) {
		b = append(b, key...)
		b = append(b, 0)
		for _, v := range vals {
			if bad == nil && strings.IndexByte(v, 0) >= 0 {
				bad = fmt.Errorf("encoding spec: %s value %q contains NUL", key, v)
			}
			b = append(b, v...)
			b = append(b, 0)
		}
	}
	for _, a := range s.Command {
		add("command", a)
	}
	for _, e := range s.Env {
		add("env", e)
	}
	add("workdir", s.WorkingDir)
	add("hostname", s.Hostname)
	if u := s.User; u != nil {
		add("user", strconv.FormatUint(uint64(u.UID), 10), strconv.FormatUint(uint64(u.GID), 10))
		for _, g := range u.Groups {
			add("group", strconv.FormatUint(uint64(g), 10))
		}
	}
	for _, m := range s.Mounts {
		add("mount", m.Source, m.Target, choose(m.ReadOnly, "ro", "rw"))
	}
	add("log", s.LogPath, strconv.Itoa(s.MaxLogLineSize))
	add("root", s.RootDir)
	for _, c := range s.Cgroups {
		add("cgroup", c.Dir, c.Mount, c.Controllers, choose(c.Shared, "shared", "own"))
	}
	if s.OOMFile != "" {
		add("oom", s.OOMFile)
	}
	return b, bad
}

func choose(c bool, yes, no string) string {
	if c {
		return yes
	}
	return no
}

// UnmarshalBinary decodes the InitFile format into s.
func (s *Spec) UnmarshalBinary(b []byte) error {
	*s = Spec{}
	if len(b) > 0 && b[len(b)-1] != 0 {
		return errors.New("decoding spec: truncated")
	}
	fields := bytes.Split(b, []byte{0})
	fields = fields[:len(fields)-1] // after the last NUL
	for len(fields) > 0 {
		key := string(fields[0])
		n, ok := specValues(key)
		if !ok {
			return fmt.Errorf("decoding spec: unknown key %q", key)
		}
		if len(fields) < 1+n {
			return fmt.Errorf("decoding spec: %s: truncated", key)
		}
		v := make([]string, n)
		for i := range v {
			v[i] = string(fields[1+i])
		}
		fields = fields[1+n:]
		if err := s.set(key, v); err != nil {
			return fmt.Errorf("decoding spec: %s: %w", key, err)
		}
	}
	return nil
}

func (s *Spec) set(key string, v []string) error {
	id := func(x string) (uint32, error) {
		n, err := strconv.ParseUint(x, 10, 32)
		return uint32(n), err
	}
	switch key {
	case "command":
		s.Command = append(s.Command, v[0])
	case "env":
		s.Env = append(s.Env, v[0])
	case "workdir":
		s.WorkingDir = v[0]
	case "hostname":
		s.Hostname = v[0]
	case "user":
		uid, err := id(v[0])
		if err != nil {
			return err
		}
		gid, err := id(v[1])
		if err != nil {
			return err
		}
		s.User = &User{UID: uid, GID: gid}
	case "group":
		if s.User == nil {
			return errors.New("before user")
		}
		g, err := id(v[0])
		if err != nil {
			return err
		}
		s.User.Groups = append(s.User.Groups, g)
	case "mount":
		s.Mounts = append(s.Mounts, Mount{Source: v[0], Target: v[1], ReadOnly: v[2] == "ro"})
	case "log":
		n, err := strconv.Atoi(v[1])
		if err != nil {
			return err
		}
		s.LogPath, s.MaxLogLineSize = v[0], n
	case "root":
		s.RootDir = v[0]
	case "cgroup":
		s.Cgroups = append(s.Cgroups, Cgroup{Dir: v[0], Mount: v[1], Controllers: v[2], Shared: v[3] == "shared"})
	case "oom":
		s.OOMFile = v[0]
	}
	return nil
}

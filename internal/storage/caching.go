package storage

import (
	"bytes"
	"io"
	"reflect"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// cachingObject is an object the watch cache hands to every watcher of a
// change: the apimachinery serializers see runtime.CacheableObject and
// encode it once per encoder (wire format and version), not once per
// watcher, as upstream's apiserver caches its watch events' encodings.
//
// The wrapped object is shared and never modified: encoders get a copy,
// as do callers of GetObject and DeepCopyObject.
type cachingObject struct {
	obj runtime.Object

	mu        sync.Mutex
	encodings map[runtime.Identifier]*encoding
}

type encoding struct {
	once sync.Once
	data []byte
	err  error
}

var _ runtime.CacheableObject = (*cachingObject)(nil)

func newCachingObject(obj runtime.Object) *cachingObject {
	return &cachingObject{obj: obj}
}

// CacheEncode writes the encoding id names, encoding it on first use.
func (c *cachingObject) CacheEncode(id runtime.Identifier, encode func(runtime.Object, io.Writer) error, w io.Writer) error {
	c.mu.Lock()
	if c.encodings == nil {
		c.encodings = make(map[runtime.Identifier]*encoding, 1)
	}
	e := c.encodings[id]
	if e == nil {
		e = &encoding{}
		c.encodings[id] = e
	}
	c.mu.Unlock()
	e.once.Do(func() {
		var buf bytes.Buffer
		// encode may set the copy's kind: the shared object stays as is.
		e.err = encode(kindCopy(c.obj), &buf)
		e.data = buf.Bytes()
	})
	if e.err != nil {
		return e.err
	}
	_, err := w.Write(e.data)
	return err
}

// kindCopy returns a copy of obj whose kind can be set without touching
// obj: encoders set the kind and read the rest. For the API's structs,
// whose kind is an embedded metav1.TypeMeta, a shallow copy (one
// allocation, not a deep copy's dozens); a deep copy otherwise.
func kindCopy(obj runtime.Object) runtime.Object {
	v := reflect.ValueOf(obj)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return obj.DeepCopyObject()
	}
	f, ok := v.Elem().Type().FieldByName("TypeMeta")
	if !ok || !f.Anonymous || f.Type != reflect.TypeFor[metav1.TypeMeta]() || len(f.Index) != 1 {
		return obj.DeepCopyObject()
	}
	cp := reflect.New(v.Elem().Type())
	cp.Elem().Set(v.Elem())
	out, ok := cp.Interface().(runtime.Object)
	if !ok {
		return obj.DeepCopyObject()
	}
	return out
}

// ReadOnlyObject returns the wrapped object itself, for callers that only
// read it (the API's metadata-only watch output): it is shared with every
// watcher of the change and must not be modified.
func (c *cachingObject) ReadOnlyObject() runtime.Object { return c.obj }

// GetObject returns a copy of the wrapped object, the caller's to modify.
func (c *cachingObject) GetObject() runtime.Object { return c.obj.DeepCopyObject() }

// DeepCopyObject returns a copy of the wrapped object, unwrapped.
func (c *cachingObject) DeepCopyObject() runtime.Object { return c.obj.DeepCopyObject() }

// GetObjectKind reads the wrapped object's kind. Setting it does nothing:
// the wrapped object is shared, and encoders set the kind on their copy.
func (c *cachingObject) GetObjectKind() schema.ObjectKind { return readOnlyKind{c.obj.GetObjectKind()} }

type readOnlyKind struct{ kind schema.ObjectKind }

func (k readOnlyKind) SetGroupVersionKind(schema.GroupVersionKind) {}
func (k readOnlyKind) GroupVersionKind() schema.GroupVersionKind   { return k.kind.GroupVersionKind() }

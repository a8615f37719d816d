package storage

import (
	"bytes"
	"io"
	"sync"

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
		e.err = encode(c.obj.DeepCopyObject(), &buf)
		e.data = buf.Bytes()
	})
	if e.err != nil {
		return e.err
	}
	_, err := w.Write(e.data)
	return err
}

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

package registry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/clock"

	"github.com/batchd/batchd/internal/storage"
)

// NamespaceChecker refuses content in namespaces that do not exist or are
// being deleted (upstream's NamespaceLifecycle admission).
type NamespaceChecker interface {
	// CheckNamespace returns the API error for creating the object named
	// name of resource gr in namespace, or nil if that may go ahead.
	CheckNamespace(ctx context.Context, gr schema.GroupResource, name, namespace string) error
}

// Config wires a Store.
type Config struct {
	Resource *Resource
	Storage  *storage.Store
	// Namespaces is consulted on create for namespaced resources; nil skips
	// the check (only for tests and cluster-scoped kinds).
	Namespaces NamespaceChecker
	Clock      clock.PassiveClock // nil: the real clock
	Log        *slog.Logger
}

// Store applies the shared object rules around one resource's storage.
type Store struct {
	res        *Resource
	storage    *storage.Store
	namespaces NamespaceChecker
	clock      clock.PassiveClock
	log        *slog.Logger
}

// NewStore returns a Store for cfg.Resource.
func NewStore(cfg Config) (*Store, error) {
	if cfg.Resource == nil || cfg.Storage == nil || cfg.Resource.Strategy == nil {
		return nil, errors.New("registry: Resource, its Strategy and Storage are required")
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Store{res: cfg.Resource, storage: cfg.Storage, namespaces: cfg.Namespaces, clock: cfg.Clock, log: cfg.Log}, nil
}

// Resource returns the descriptor the store serves.
func (s *Store) Resource() *Resource { return s.res }

// maxGenerateNameAttempts bounds retries when a generated name is taken,
// as upstream's RetryGenerateName does.
const maxGenerateNameAttempts = 8

// generatedSuffixLength is the random suffix upstream appends to generateName.
const generatedSuffixLength = 5

// CreateOptions qualify a create.
type CreateOptions struct {
	DryRun bool
	// Warn, if set, receives the warnings the kind's strategy has about the
	// object (deprecated fields, risky values), for Warning headers.
	Warn func(msg string)
}

// Create stores a new object. obj must be of the resource's type and is
// owned by the call.
func (s *Store) Create(ctx context.Context, obj runtime.Object, opts CreateOptions) (runtime.Object, error) {
	dryRun := opts.DryRun
	accessor, err := meta.Accessor(obj)
	if err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	if s.res.Namespaced && accessor.GetNamespace() == "" {
		return nil, apierrors.NewBadRequest("the server could not find the requested resource: a namespace is required")
	}
	if !s.res.Namespaced {
		accessor.SetNamespace("")
	}
	generate := accessor.GetName() == "" && accessor.GetGenerateName() != ""
	if generate {
		accessor.SetName(accessor.GetGenerateName() + utilrand.String(generatedSuffixLength))
	}
	accessor.SetUID(uuid.NewUUID())
	accessor.SetCreationTimestamp(metav1.NewTime(s.clock.Now().Truncate(1e9)))
	accessor.SetResourceVersion("")
	accessor.SetDeletionTimestamp(nil)
	accessor.SetDeletionGracePeriodSeconds(nil)
	accessor.SetSelfLink("")
	if hasSpec(obj) {
		accessor.SetGeneration(1)
	} else {
		accessor.SetGeneration(0)
	}
	s.res.Strategy.PrepareForCreate(obj)

	errs := s.validateMeta(accessor)
	errs = append(errs, s.res.Strategy.Validate(obj)...)
	if len(errs) > 0 {
		return nil, apierrors.NewInvalid(s.res.GroupVersionKind().GroupKind(), accessor.GetName(), errs)
	}
	if w, ok := s.res.Strategy.(Warner); ok && opts.Warn != nil {
		for _, msg := range w.WarningsOnCreate(obj) {
			opts.Warn(msg)
		}
	}
	if s.res.Namespaced && s.namespaces != nil {
		if err := s.namespaces.CheckNamespace(ctx, s.res.GroupResource(), accessor.GetName(), accessor.GetNamespace()); err != nil {
			return nil, err
		}
	}
	for attempt := 1; ; attempt++ {
		err := s.storage.Create(ctx, storage.Key(accessor.GetNamespace(), accessor.GetName()), obj, dryRun)
		if err == nil {
			return obj, nil
		}
		if generate && errors.Is(err, storage.ErrExists) && attempt < maxGenerateNameAttempts {
			accessor.SetName(accessor.GetGenerateName() + utilrand.String(generatedSuffixLength))
			continue
		}
		return nil, s.apiError(err, accessor.GetName())
	}
}

// Get returns the named object.
func (s *Store) Get(ctx context.Context, namespace, name string) (runtime.Object, error) {
	obj, err := s.storage.Get(ctx, storage.Key(namespace, name))
	if err != nil {
		return nil, s.apiError(err, name)
	}
	return obj, nil
}

// UpdatedObject computes the object a write wants from the current one: a
// PUT returns its body, a PATCH applies itself to current. current is nil
// when the object does not exist (and creation is allowed). It is called
// once per attempt and must return a fresh object each time.
type UpdatedObject func(current runtime.Object) (runtime.Object, error)

// UpdateOptions qualify an update.
type UpdateOptions struct {
	// Subresource is "" for the main resource, else a key of
	// Resource.Subresources.
	Subresource string
	DryRun      bool
	// AllowCreate creates the object when it is missing (server-side apply,
	// and PUT on kinds that allow it).
	AllowCreate bool
	// Warn, if set, receives the strategy's warnings about the update.
	Warn func(msg string)
}

// Update changes the named object; it returns the stored object and whether
// it was created.
func (s *Store) Update(ctx context.Context, namespace, name string, objInfo UpdatedObject, opts UpdateOptions) (runtime.Object, bool, error) {
	strategy := s.res.Strategy
	if opts.Subresource != "" {
		var ok bool
		if strategy, ok = s.res.Subresources[opts.Subresource]; !ok {
			return nil, false, apierrors.NewNotFound(s.res.GroupResource(), name)
		}
	}
	allowCreate := opts.AllowCreate && opts.Subresource == ""
	if c, ok := strategy.(CreateOnUpdater); ok && c.AllowCreateOnUpdate() && opts.Subresource == "" {
		allowCreate = true
	}
	key := storage.Key(namespace, name)
	errCreate := errors.New("create instead")
	var toCreate runtime.Object
	out, _, err := s.storage.GuaranteedUpdate(ctx, key, allowCreate, opts.DryRun, func(current runtime.Object) (runtime.Object, error) {
		obj, err := objInfo(current)
		if err != nil {
			return nil, err
		}
		accessor, err := meta.Accessor(obj)
		if err != nil {
			return nil, apierrors.NewBadRequest(err.Error())
		}
		if err := s.checkIdentity(accessor, namespace, name); err != nil {
			return nil, err
		}
		if current == nil {
			toCreate = obj
			return nil, errCreate
		}
		return s.prepareUpdate(obj, current, strategy, opts.Warn)
	})
	if errors.Is(err, errCreate) {
		created, err := s.Create(ctx, toCreate, CreateOptions{DryRun: opts.DryRun, Warn: opts.Warn})
		return created, err == nil, err
	}
	if err != nil {
		return nil, false, s.apiError(err, name)
	}
	if s.readyToRemove(out) {
		// Removing the last finalizer of an object being deleted finishes
		// the deletion.
		if _, err := s.storage.Delete(ctx, key, opts.DryRun, func(current runtime.Object) error {
			if !s.readyToRemove(current) {
				return errNotDeleting
			}
			return nil
		}); err != nil && !errors.Is(err, errNotDeleting) && !errors.Is(err, storage.ErrNotFound) {
			return nil, false, s.apiError(err, name)
		}
	}
	return out, false, nil
}

var errNotDeleting = errors.New("object no longer ready for deletion")

// readyToRemove reports whether obj is marked for deletion and nothing
// holds it any more: no finalizers, no grace period left to wait, and
// nothing the kind's strategy waits for (a namespace's spec.finalizers).
func (s *Store) readyToRemove(obj runtime.Object) bool {
	accessor, err := meta.Accessor(obj)
	if err != nil || accessor.GetDeletionTimestamp() == nil || len(accessor.GetFinalizers()) > 0 {
		return false
	}
	if grace := accessor.GetDeletionGracePeriodSeconds(); grace != nil && *grace != 0 {
		return false
	}
	if m, ok := s.res.Strategy.(DeletionMarker); ok && m.MarkForDeletion(obj.DeepCopyObject()) {
		return false
	}
	return true
}

func (s *Store) checkIdentity(accessor metav1.Object, namespace, name string) error {
	if accessor.GetName() == "" {
		accessor.SetName(name)
	}
	if s.res.Namespaced && accessor.GetNamespace() == "" {
		accessor.SetNamespace(namespace)
	}
	if accessor.GetName() != name {
		return apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", accessor.GetName(), name))
	}
	if accessor.GetNamespace() != namespace {
		return apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request")
	}
	return nil
}

func (s *Store) prepareUpdate(obj, current runtime.Object, strategy Strategy, warn func(string)) (runtime.Object, error) {
	accessor, _ := meta.Accessor(obj)
	old, _ := meta.Accessor(current)
	if rv := accessor.GetResourceVersion(); rv != "" && rv != old.GetResourceVersion() {
		return nil, apierrors.NewConflict(s.res.GroupResource(), accessor.GetName(), errors.New(OptimisticLockErrorMsg))
	}
	accessor.SetResourceVersion(old.GetResourceVersion())
	// Fields only the server sets are carried over; a uid, if given, must
	// match (validated below as immutable).
	if accessor.GetUID() == "" {
		accessor.SetUID(old.GetUID())
	}
	accessor.SetCreationTimestamp(old.GetCreationTimestamp())
	accessor.SetDeletionTimestamp(old.GetDeletionTimestamp())
	accessor.SetDeletionGracePeriodSeconds(old.GetDeletionGracePeriodSeconds())
	accessor.SetGeneration(old.GetGeneration())
	accessor.SetSelfLink("")
	strategy.PrepareForUpdate(obj, current)
	if hasSpec(obj) && !apiequality.Semantic.DeepEqual(specOf(obj), specOf(current)) {
		accessor.SetGeneration(old.GetGeneration() + 1)
	}

	errs := s.validateMeta(accessor)
	errs = append(errs, validateMetaUpdate(accessor, old)...)
	errs = append(errs, strategy.ValidateUpdate(obj, current)...)
	if len(errs) > 0 {
		return nil, apierrors.NewInvalid(s.res.GroupVersionKind().GroupKind(), accessor.GetName(), errs)
	}
	if w, ok := strategy.(Warner); ok && warn != nil {
		for _, msg := range w.WarningsOnUpdate(obj, current) {
			warn(msg)
		}
	}
	return obj, nil
}

// OptimisticLockErrorMsg is upstream's message for a stale resourceVersion.
const OptimisticLockErrorMsg = "the object has been modified; please apply your changes to the latest version and try again"

// DeleteOutcome says what a delete did.
type DeleteOutcome struct {
	Object runtime.Object
	// Deleted is true when the object is gone, false when it was only
	// marked (finalizers or a grace period remain).
	Deleted bool
}

var errDeleteNow = errors.New("delete now")

// Delete removes the named object, or marks it for deletion when a grace
// period or finalizers must run first.
func (s *Store) Delete(ctx context.Context, namespace, name string, opts *metav1.DeleteOptions, warn func(string)) (DeleteOutcome, error) {
	if opts == nil {
		opts = &metav1.DeleteOptions{}
	}
	if opts.PropagationPolicy == nil && opts.OrphanDependents == nil && s.res.DefaultPropagation != "" { //nolint:staticcheck // still honoured upstream
		policy := s.res.DefaultPropagation
		opts = opts.DeepCopy()
		opts.PropagationPolicy = &policy
		if warn != nil && s.res.DefaultPropagationWarning != "" {
			warn(s.res.DefaultPropagationWarning)
		}
	}
	dryRun := len(opts.DryRun) > 0
	key := storage.Key(namespace, name)
	for {
		marked, _, err := s.storage.GuaranteedUpdate(ctx, key, false, dryRun, func(current runtime.Object) (runtime.Object, error) {
			if err := s.checkPreconditions(current, opts.Preconditions); err != nil {
				return nil, err
			}
			if !s.markForDeletion(current, opts) {
				return nil, errDeleteNow
			}
			return current, nil
		})
		switch {
		case err == nil:
			return DeleteOutcome{Object: marked}, nil
		case !errors.Is(err, errDeleteNow):
			return DeleteOutcome{}, s.apiError(err, name)
		}
		obj, err := s.storage.Delete(ctx, key, dryRun, func(current runtime.Object) error {
			if err := s.checkPreconditions(current, opts.Preconditions); err != nil {
				return err
			}
			if s.markForDeletion(current, opts) {
				return errMustMark // changed since; mark it instead
			}
			return nil
		})
		if errors.Is(err, errMustMark) {
			continue
		}
		if err != nil {
			return DeleteOutcome{}, s.apiError(err, name)
		}
		return DeleteOutcome{Object: obj, Deleted: true}, nil
	}
}

var errMustMark = errors.New("object must be marked, not deleted")

// markForDeletion decides whether obj must linger, and marks it if so. It
// reports false when the object can be removed now.
func (s *Store) markForDeletion(obj runtime.Object, opts *metav1.DeleteOptions) bool {
	accessor, _ := meta.Accessor(obj)
	now := metav1.NewTime(s.clock.Now().Truncate(1e9))
	accessor.SetFinalizers(propagationFinalizers(accessor.GetFinalizers(), opts))
	if g, ok := s.res.Strategy.(GracefulDeleter); ok {
		grace := g.GracePeriod(obj, opts.GracePeriodSeconds)
		if grace > 0 {
			current := accessor.GetDeletionGracePeriodSeconds()
			if current != nil && *current <= grace && accessor.GetDeletionTimestamp() != nil {
				return true // already marked with a shorter or equal grace period
			}
			deadline := metav1.NewTime(now.Add(secondsToDuration(grace)))
			accessor.SetDeletionTimestamp(&deadline)
			accessor.SetDeletionGracePeriodSeconds(&grace)
			if accessor.GetGeneration() > 0 {
				accessor.SetGeneration(accessor.GetGeneration() + 1)
			}
			return true
		}
	}
	linger := len(accessor.GetFinalizers()) > 0
	if m, ok := s.res.Strategy.(DeletionMarker); ok && m.MarkForDeletion(obj) {
		linger = true
	}
	if !linger {
		return false
	}
	if accessor.GetDeletionTimestamp() == nil {
		accessor.SetDeletionTimestamp(&now)
		zero := int64(0)
		accessor.SetDeletionGracePeriodSeconds(&zero)
		if accessor.GetGeneration() > 0 {
			accessor.SetGeneration(accessor.GetGeneration() + 1)
		}
	} else if g := accessor.GetDeletionGracePeriodSeconds(); g != nil && *g > 0 {
		// A pod whose grace period is cut short but which still has
		// finalizers keeps waiting for them with no grace left.
		zero := int64(0)
		accessor.SetDeletionGracePeriodSeconds(&zero)
	}
	return true
}

// propagationFinalizers adds or removes the garbage collector's finalizers
// for the delete's propagation policy, as upstream's store does: Orphan
// sets "orphan", Foreground sets "foregroundDeletion", an explicit
// Background clears both, and no policy keeps what is there.
func propagationFinalizers(finalizers []string, opts *metav1.DeleteOptions) []string {
	var policy metav1.DeletionPropagation
	switch {
	case opts.PropagationPolicy != nil:
		policy = *opts.PropagationPolicy
	case opts.OrphanDependents != nil && *opts.OrphanDependents: //nolint:staticcheck // still honoured upstream
		policy = metav1.DeletePropagationOrphan
	case opts.OrphanDependents != nil: //nolint:staticcheck // still honoured upstream
		policy = metav1.DeletePropagationBackground
	default:
		return finalizers
	}
	out := make([]string, 0, len(finalizers)+1)
	for _, f := range finalizers {
		if f != metav1.FinalizerOrphanDependents && f != metav1.FinalizerDeleteDependents {
			out = append(out, f)
		}
	}
	switch policy {
	case metav1.DeletePropagationOrphan:
		out = append(out, metav1.FinalizerOrphanDependents)
	case metav1.DeletePropagationForeground:
		out = append(out, metav1.FinalizerDeleteDependents)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func (s *Store) checkPreconditions(obj runtime.Object, p *metav1.Preconditions) error {
	if c, ok := s.res.Strategy.(DeleteChecker); ok {
		if err := c.CheckDelete(obj); err != nil {
			return err
		}
	}
	if p == nil {
		return nil
	}
	accessor, _ := meta.Accessor(obj)
	if p.UID != nil && *p.UID != accessor.GetUID() {
		return apierrors.NewConflict(s.res.GroupResource(), accessor.GetName(),
			fmt.Errorf("Precondition failed: UID in precondition: %v, UID in object meta: %v", *p.UID, accessor.GetUID()))
	}
	if p.ResourceVersion != nil && *p.ResourceVersion != accessor.GetResourceVersion() {
		return apierrors.NewConflict(s.res.GroupResource(), accessor.GetName(),
			fmt.Errorf("Precondition failed: ResourceVersion in precondition: %v, ResourceVersion in object meta: %v", *p.ResourceVersion, accessor.GetResourceVersion()))
	}
	return nil
}

// ListOptions select and page a list or watch.
type ListOptions struct {
	Selector             Selector
	ResourceVersion      string
	ResourceVersionMatch metav1.ResourceVersionMatch
	Limit                int64
	Continue             string
}

// List returns the matching objects in namespace ("" for all namespaces)
// as the resource's list type.
func (s *Store) List(ctx context.Context, namespace string, opts ListOptions) (runtime.Object, error) {
	rv, err := parseResourceVersion(opts.ResourceVersion)
	if err != nil {
		return nil, err
	}
	if opts.Continue != "" && rv != 0 {
		return nil, apierrors.NewBadRequest("specifying resource version is not allowed when using continue")
	}
	exact := opts.ResourceVersionMatch == metav1.ResourceVersionMatchExact
	if exact && rv == 0 {
		return nil, apierrors.NewBadRequest(`resourceVersionMatch "Exact" requires a non-zero resourceVersion`)
	}
	res, err := s.storage.List(ctx, s.prefixFor(namespace), storage.ListOptions{
		ResourceVersion: rv,
		Exact:           exact,
		Limit:           opts.Limit,
		Continue:        opts.Continue,
		Predicate:       s.predicate(opts.Selector),
	})
	if err != nil {
		return nil, s.apiError(err, "")
	}
	list := s.res.NewListFunc()
	if err := meta.SetList(list, res.Items); err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	listMeta, err := meta.ListAccessor(list)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	listMeta.SetResourceVersion(strconv.FormatInt(res.ResourceVersion, 10))
	listMeta.SetContinue(res.Continue)
	return list, nil
}

// WatchOptions extend ListOptions with the watch-only parameters.
type WatchOptions struct {
	ListOptions
	SendInitialEvents   *bool
	AllowWatchBookmarks bool
}

// Watch streams changes to matching objects in namespace ("" for all).
func (s *Store) Watch(ctx context.Context, namespace string, opts WatchOptions) (watch.Interface, error) {
	rv, err := parseResourceVersion(opts.ResourceVersion)
	if err != nil {
		return nil, err
	}
	so := storage.WatchOptions{
		ResourceVersion: rv,
		Bookmarks:       opts.AllowWatchBookmarks,
		Predicate:       s.predicate(opts.Selector),
	}
	switch {
	case opts.SendInitialEvents != nil && *opts.SendInitialEvents:
		if !opts.AllowWatchBookmarks {
			return nil, apierrors.NewInvalid(metav1.SchemeGroupVersion.WithKind("ListOptions").GroupKind(), "",
				field.ErrorList{field.Forbidden(field.NewPath("allowWatchBookmarks"), "allowWatchBookmarks must be set to true when sendInitialEvents is specified")})
		}
		if opts.ResourceVersionMatch != metav1.ResourceVersionMatchNotOlderThan {
			return nil, apierrors.NewInvalid(metav1.SchemeGroupVersion.WithKind("ListOptions").GroupKind(), "",
				field.ErrorList{field.Forbidden(field.NewPath("resourceVersionMatch"), "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan")})
		}
		so.InitialEvents, so.InitialEventsEnd = true, true
	case opts.SendInitialEvents != nil:
		if opts.ResourceVersionMatch != "" && opts.ResourceVersionMatch != metav1.ResourceVersionMatchNotOlderThan {
			return nil, apierrors.NewBadRequest("sendInitialEvents=false requires resourceVersionMatch NotOlderThan or unset")
		}
		if rv == 0 {
			if so.ResourceVersion, err = s.storage.CurrentRevision(ctx); err != nil {
				return nil, s.apiError(err, "")
			}
		}
	case opts.ResourceVersionMatch != "":
		return nil, apierrors.NewBadRequest("resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided")
	case rv == 0:
		// "" and "0": the current state first, then changes.
		so.InitialEvents = true
	}
	w, err := s.storage.Watch(ctx, s.prefixFor(namespace), so)
	if err != nil {
		return nil, s.apiError(err, "")
	}
	return w, nil
}

func (s *Store) prefixFor(namespace string) string {
	if namespace == "" || !s.res.Namespaced {
		return ""
	}
	return namespace + "/"
}

func parseResourceVersion(rv string) (int64, error) {
	if rv == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(rv, 10, 64)
	if err != nil || n < 0 {
		return 0, apierrors.NewBadRequest(fmt.Sprintf("invalid resource version: %q", rv))
	}
	return n, nil
}

// apiError maps storage errors onto upstream's API errors.
func (s *Store) apiError(err error, name string) error {
	var status apierrors.APIStatus
	var expired *storage.ExpiredError
	var tooLarge *storage.TooLargeError
	switch {
	case errors.As(err, &status):
		return err
	case errors.Is(err, storage.ErrNotFound):
		return apierrors.NewNotFound(s.res.GroupResource(), name)
	case errors.Is(err, storage.ErrExists):
		return apierrors.NewAlreadyExists(s.res.GroupResource(), name)
	case errors.As(err, &expired):
		return apierrors.NewResourceExpired(expired.Error())
	case errors.As(err, &tooLarge):
		return NewTooLargeResourceVersionError(tooLarge)
	case errors.Is(err, storage.ErrInvalidContinue):
		return apierrors.NewBadRequest(err.Error())
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return apierrors.NewTimeoutError(err.Error(), 0)
	}
	return apierrors.NewInternalError(err)
}

// NewTooLargeResourceVersionError is upstream's 504 for a resourceVersion
// newer than the store's, with the cause client-go relists on.
func NewTooLargeResourceVersionError(e *storage.TooLargeError) error {
	err := apierrors.NewTimeoutError(e.Error(), 1)
	err.ErrStatus.Details.Causes = []metav1.StatusCause{{Type: metav1.CauseTypeResourceVersionTooLarge, Message: "Too large resource version"}}
	return err
}

// UIDOf returns obj's uid, for delete responses.
func UIDOf(obj runtime.Object) types.UID {
	if accessor, err := meta.Accessor(obj); err == nil {
		return accessor.GetUID()
	}
	return ""
}

// DeleteCollection deletes every object that opts selects in namespace and
// returns them as the resource's list type.
func (s *Store) DeleteCollection(ctx context.Context, namespace string, listOpts ListOptions, opts *metav1.DeleteOptions, warn func(string)) (runtime.Object, error) {
	listed, err := s.List(ctx, namespace, listOpts)
	if err != nil {
		return nil, err
	}
	items, err := meta.ExtractList(listed)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	var deleted []runtime.Object
	for _, item := range items {
		accessor, err := meta.Accessor(item)
		if err != nil {
			return nil, apierrors.NewInternalError(err)
		}
		out, err := s.Delete(ctx, accessor.GetNamespace(), accessor.GetName(), opts, warn)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		deleted = append(deleted, out.Object)
	}
	list := s.res.NewListFunc()
	if err := meta.SetList(list, deleted); err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	return list, nil
}

package storage

import (
	"errors"
	"fmt"
)

// Errors storage returns, wrapped with the key (and, for ErrExpired and
// ErrTooLargeResourceVersion, the revisions). Callers classify them with
// errors.Is and turn them into API errors.
var (
	// ErrNotFound: no object at the key (or at the revision asked for).
	ErrNotFound = errors.New("not found")
	// ErrExists: a create found an object already at the key.
	ErrExists = errors.New("already exists")
	// ErrExpired: the revision asked for has been compacted away.
	ErrExpired = errors.New("resource version expired")
	// ErrTooLargeResourceVersion: the revision asked for is newer than the store's.
	ErrTooLargeResourceVersion = errors.New("resource version too large")
	// ErrInvalidContinue: a continue token that does not parse or does not
	// belong to the listed prefix.
	ErrInvalidContinue = errors.New("invalid continue token")
)

// ExpiredError carries the revisions behind an ErrExpired, so the API layer
// can word its message as upstream does.
type ExpiredError struct {
	Requested int64 // the revision the caller asked for
	Compacted int64 // the oldest revision etcd still has
	Continue  bool  // true when a continue token had expired
}

func (e *ExpiredError) Error() string {
	if e.Continue {
		return "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter."
	}
	if e.Compacted > 0 {
		return fmt.Sprintf("too old resource version: %d (%d)", e.Requested, e.Compacted)
	}
	return fmt.Sprintf("too old resource version: %d", e.Requested)
}

// Unwrap makes errors.Is(err, ErrExpired) hold.
func (e *ExpiredError) Unwrap() error { return ErrExpired }

// TooLargeError carries the revisions behind an ErrTooLargeResourceVersion.
type TooLargeError struct {
	Requested int64
	Current   int64
}

func (e *TooLargeError) Error() string {
	if e.Current == 0 {
		return fmt.Sprintf("Too large resource version: %d", e.Requested)
	}
	return fmt.Sprintf("Too large resource version: %d, current: %d", e.Requested, e.Current)
}

// Unwrap makes errors.Is(err, ErrTooLargeResourceVersion) hold.
func (e *TooLargeError) Unwrap() error { return ErrTooLargeResourceVersion }

// Package events serves events.k8s.io/v1 Events. As upstream does, they are
// a second view of the core/v1 Events in storage: this package converts
// between the two shapes (regarding/involvedObject, note/message, the
// deprecated* fields) and validates events written through the new API.
package events

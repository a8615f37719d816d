// Package eventsink owns the event recorder of components that record
// events on their own, outside the control plane's shared broadcaster: the
// scheduler and the node agent. Its sink writes each event with a context,
// unlike client-go's EventSinkImpl, so stopping the recorder cancels the
// write in flight and later events are dropped quietly instead of being
// logged as failures.
package eventsink

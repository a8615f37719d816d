// Package gcpace paces Go's garbage collector for a batchd process: it
// lets the heap grow by at least a fixed headroom between collections.
//
// Go's default, GOGC=100, starts a collection once the heap has grown by
// as much as the last collection found live. A batchd server's live heap
// is small (tens of MiB idle, ~100 MiB while running a 1,000-pod Job) but
// it allocates fast (~0.75 MiB per pod through the API, the controllers
// and the agent), so under load it collected several times a second and
// the collector took ~13 % of the server's CPU. With a headroom H the next
// collection starts once the heap has grown by at least max(live, H)
// instead of live (Go also counts stacks and globals in that growth): the
// same as GOGC=100 once the live heap exceeds H, so a big server (100,000
// pods, 1.5 GiB live) keeps its memory bound, while a small one spends up
// to H of memory on fewer collections. Idle, a process allocates little
// and its heap stays well below that goal.
//
// The pacer turns the headroom into a GC percent (debug.SetGCPercent)
// after every collection. GOGC or GOMEMLIMIT in the environment is the
// user's choice: the pacer then leaves the collector alone. The GC percent
// is the process's: run one pacer per process. batchd server and the
// embedded server of batchd run are paced (Pace); a batchd agent alone is
// not: it allocates little, and shares its machine's memory with the pods.
package gcpace

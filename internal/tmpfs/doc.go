// Package tmpfs makes sure a directory is backed by memory.
//
// A node keeps small, short-lived per-pod files: the pod runtime's state,
// service account tokens, termination message files. On tmpfs creating
// and removing them costs tens of microseconds; on a disk filesystem such
// as ext4 it costs a millisecond or more of CPU each (measured on the
// development machine: 1.3 ms per pair of mkdirs and a small write, 29 µs
// on tmpfs), which at hundreds of pods per second is most of a core.
// Tokens should not reach a disk at all, which is why kubelet mounts a
// tmpfs for every secret and projected volume.
//
// Most distributions mount /run as tmpfs; where it is not (containers,
// some VMs), Ensure mounts one on the directory, once: as systemd does
// for RuntimeDirectory, and as containerd expects of /run/containerd.
package tmpfs

package job

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"

	"github.com/batchd/batchd/internal/jobtest"
)

// TestDecideProperties plays random Jobs through many syncs, with a random
// world between syncs (pods start, succeed, fail, get deleted), and checks
// decide's invariants after every sync:
//   - never more active pods than parallelism;
//   - succeeded never decreases;
//   - a terminal condition appears only when no pod still carries the
//     tracking finalizer.
func TestDecideProperties(t *testing.T) {
	for seed := range uint64(300) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) { playJob(t, rand.New(rand.NewPCG(seed, 7))) })
	}
}

func playJob(t *testing.T, r *rand.Rand) {
	opts := []jobtest.Option{jobtest.UID("juid"), jobtest.Completions(int32(1 + r.IntN(8))), jobtest.Parallelism(int32(1 + r.IntN(4))), jobtest.BackoffLimit(int32(r.IntN(5)))}
	if r.IntN(2) == 0 {
		opts = append(opts, jobtest.Indexed())
		if r.IntN(2) == 0 {
			opts = append(opts, jobtest.BackoffLimitPerIndex(int32(r.IntN(3))))
		}
	}
	if r.IntN(3) == 0 {
		opts = append(opts, jobtest.PodReplacementPolicy(batchv1.Failed))
	}
	job := jobtest.Default(jobtest.New("j", opts...))
	clock := now
	pods := map[types.UID]*corev1.Pod{}
	seq := 0
	var lastSucceeded int32
	for step := range 60 {
		var list []*corev1.Pod
		for _, p := range pods {
			list = append(list, p)
		}
		p := decide(input{job: job, pods: list, satisfied: true, expectedRemovals: sets.New[types.UID](), now: clock, tuning: upstreamTuning})
		st := p.final()
		active := int32(0)
		for _, pod := range list {
			if isActive(pod) {
				active++
			}
		}
		// Pods decide deletes stop being active; pods it creates start.
		active += int32(len(p.create)) - int32(len(p.remove)) - int32(len(p.terminate))
		if active > *job.Spec.Parallelism {
			t.Fatalf("step %d: %d active pods, parallelism %d", step, active, *job.Spec.Parallelism)
		}
		if st.Succeeded < lastSucceeded {
			t.Fatalf("step %d: succeeded went from %d to %d", step, lastSucceeded, st.Succeeded)
		}
		lastSucceeded = st.Succeeded
		// Apply the plan to the world.
		for _, pod := range p.finalize {
			pods[pod.UID].Finalizers = nil
		}
		for _, pod := range append(p.remove, p.terminate...) {
			w := pods[pod.UID]
			w.DeletionTimestamp = &metav1.Time{Time: clock}
		}
		for _, pod := range p.remove {
			pods[pod.UID].Finalizers = nil
		}
		for _, pod := range p.create {
			seq++
			c := pod.DeepCopy()
			c.Name, c.UID = fmt.Sprintf("p%d", seq), types.UID(fmt.Sprintf("u%d", seq))
			c.Status.Phase = corev1.PodPending
			c.CreationTimestamp = metav1.NewTime(clock)
			pods[c.UID] = c
		}
		job.Status = st
		if finished(job) {
			for _, pod := range pods {
				if hasTrackingFinalizer(pod) {
					t.Fatalf("step %d: job finished (%v) while pod %s keeps the finalizer", step, condTypes(st), pod.Name)
				}
			}
			return
		}
		// The world moves: pods without finalizers being deleted go away;
		// others start, finish or get deleted at random.
		clock = clock.Add(time.Duration(r.IntN(30)) * time.Second)
		for uid, pod := range pods {
			if pod.DeletionTimestamp != nil && len(pod.Finalizers) == 0 {
				delete(pods, uid)
				continue
			}
			if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
				continue
			}
			switch r.IntN(6) {
			case 0:
				pod.Status.Phase = corev1.PodRunning
			case 1:
				succeeded(pod)
			case 2:
				failedAt(clock)(pod)
			case 3:
				if pod.DeletionTimestamp != nil {
					failedAt(clock)(pod)
				}
			}
		}
	}
}

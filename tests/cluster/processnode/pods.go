package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
)

// ctr is one container of a pod run.
type ctr struct {
	spec     corev1.Container
	init     bool
	dir      string
	logPath  string
	termPath string

	// guarded by podRun.mu
	status  corev1.ContainerStatus
	pgid    int
	running bool
	logDone chan struct{} // closed when the current process has exited
}

// podRun is the local execution of one pod (one UID).
type podRun struct {
	n    *Node
	uid  types.UID
	ns   string
	name string
	pod  *corev1.Pod // as first seen (spec is immutable for what we use)
	dir  string

	mu          sync.Mutex
	phase       corev1.PodPhase
	reason      string
	message     string
	startTime   metav1.Time
	conds       map[corev1.PodConditionType]corev1.PodCondition
	inits       []*ctr
	ctrs        []*ctr
	terminating bool // deletion or deadline: no more (re)starts
	finished    bool // terminal status decided
	deleted     bool // pod object is gone
	dirty       chan struct{}
	stop        chan struct{} // closed when the run must end (deletion, deadline, shutdown)
	stopOnce    sync.Once
	delOnce     sync.Once
	volumes     map[string]string // volume name -> real path
	done        chan struct{}     // closed when every process has exited
	pushed      chan struct{}     // closed after the terminal status was written
	pushOnce    sync.Once
}

func (n *Node) watchPods(ctx context.Context) {
	f := informers.NewSharedInformerFactoryWithOptions(n.cs, 0, informers.WithTweakListOptions(func(o *metav1.ListOptions) {
		o.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", n.cfg.Name).String()
	}))
	inf := f.Core().V1().Pods().Informer()
	n.podCache = inf.GetIndexer()
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(o interface{}) { n.onPod(ctx, o.(*corev1.Pod)) },
		UpdateFunc: func(_, o interface{}) { n.onPod(ctx, o.(*corev1.Pod)) },
		DeleteFunc: func(o interface{}) {
			if t, ok := o.(cache.DeletedFinalStateUnknown); ok {
				o = t.Obj
			}
			if p, ok := o.(*corev1.Pod); ok {
				n.onPodGone(p)
			}
		},
	})
	f.Start(ctx.Done())
	f.WaitForCacheSync(ctx.Done())
}

func terminal(p corev1.PodPhase) bool { return p == corev1.PodSucceeded || p == corev1.PodFailed }

func (n *Node) onPod(ctx context.Context, pod *corev1.Pod) {
	n.mu.Lock()
	r := n.pods[pod.UID]
	if r == nil {
		if terminal(pod.Status.Phase) {
			n.mu.Unlock()
			if pod.DeletionTimestamp != nil {
				go n.finalDelete(pod.Namespace, pod.Name, pod.UID)
			}
			return
		}
		r = n.newRun(pod)
		n.pods[pod.UID] = r
		n.names[pod.Namespace+"/"+pod.Name] = r
		n.mu.Unlock()
		if pod.DeletionTimestamp != nil {
			go n.finalDelete(pod.Namespace, pod.Name, pod.UID)
			r.abandon()
			return
		}
		if pod.Status.StartTime != nil && (pod.Status.Phase == corev1.PodRunning || len(pod.Status.ContainerStatuses) > 0) {
			// started by an earlier incarnation of this node: the processes are gone
			go r.lost()
			return
		}
		go r.run(ctx)
		return
	}
	n.mu.Unlock()
	if pod.DeletionTimestamp != nil {
		grace := int64(30)
		if pod.DeletionGracePeriodSeconds != nil {
			grace = *pod.DeletionGracePeriodSeconds
		}
		r.requestDelete(time.Duration(grace) * time.Second)
	}
}

func (n *Node) onPodGone(pod *corev1.Pod) {
	n.mu.Lock()
	r := n.pods[pod.UID]
	n.mu.Unlock()
	if r == nil {
		return
	}
	r.mu.Lock()
	r.deleted = true
	r.mu.Unlock()
	r.signalAll(syscall.SIGKILL)
	r.requestDelete(0)
}

func (n *Node) forget(r *podRun) {
	n.mu.Lock()
	if n.pods[r.uid] == r {
		delete(n.pods, r.uid)
	}
	if n.names[r.ns+"/"+r.name] == r {
		delete(n.names, r.ns+"/"+r.name)
	}
	n.mu.Unlock()
}

func (n *Node) newRun(pod *corev1.Pod) *podRun {
	r := &podRun{
		n: n, uid: pod.UID, ns: pod.Namespace, name: pod.Name, pod: pod.DeepCopy(),
		dir:   filepath.Join(n.cfg.RootDir, "pods", string(pod.UID)),
		phase: corev1.PodPending, conds: map[corev1.PodConditionType]corev1.PodCondition{},
		dirty: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}), pushed: make(chan struct{}),
	}
	mk := func(c corev1.Container, init bool) *ctr {
		d := filepath.Join(r.dir, "containers", c.Name)
		k := &ctr{spec: c, init: init, dir: d, logPath: filepath.Join(d, "log"), termPath: filepath.Join(d, "termination-log"), logDone: make(chan struct{})}
		k.status = corev1.ContainerStatus{Name: c.Name, Image: c.Image, ImageID: "process://" + c.Image,
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}}
		if init {
			k.status.State.Waiting.Reason = "PodInitializing"
		}
		return k
	}
	for _, c := range pod.Spec.InitContainers {
		r.inits = append(r.inits, mk(c, true))
	}
	for _, c := range pod.Spec.Containers {
		k := mk(c, false)
		if len(pod.Spec.InitContainers) > 0 {
			k.status.State.Waiting.Reason = "PodInitializing"
		}
		r.ctrs = append(r.ctrs, k)
	}
	return r
}

func (r *podRun) setCond(t corev1.PodConditionType, s corev1.ConditionStatus, reason string) {
	now := metav1.Now()
	if old, ok := r.conds[t]; ok && old.Status == s && old.Reason == reason {
		return
	}
	r.conds[t] = corev1.PodCondition{Type: t, Status: s, Reason: reason, LastTransitionTime: now}
}

func (r *podRun) markDirty() {
	select {
	case r.dirty <- struct{}{}:
	default:
	}
}

func (r *podRun) stopNow() { r.stopOnce.Do(func() { close(r.stop) }) }

// abandon: a pod we never started is being deleted.
func (r *podRun) abandon() {
	r.mu.Lock()
	r.terminating, r.finished = true, true
	r.mu.Unlock()
	r.stopNow()
	close(r.done)
	r.pushOnce.Do(func() { close(r.pushed) })
	r.n.forget(r)
}

// lost marks a pod whose processes died with an earlier incarnation of the node.
func (r *podRun) lost() {
	r.mu.Lock()
	r.finished, r.terminating = true, true
	r.phase, r.reason, r.message = corev1.PodFailed, "NodeRestarted", "the process node restarted; the pod's processes are lost"
	now := metav1.Now()
	for _, k := range append(append([]*ctr{}, r.inits...), r.ctrs...) {
		k.status.State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 137, Reason: "Error", Message: r.message, StartedAt: now, FinishedAt: now}}
	}
	if r.pod.Status.StartTime != nil {
		r.startTime = *r.pod.Status.StartTime
	}
	r.mu.Unlock()
	close(r.done)
	r.pushUntilDone(context.Background())
	r.pushOnce.Do(func() { close(r.pushed) })
}

// requestDelete starts a graceful stop followed by the final delete of the pod object.
func (r *podRun) requestDelete(grace time.Duration) {
	r.mu.Lock()
	r.terminating = true
	r.mu.Unlock()
	r.stopNow()
	r.delOnce.Do(func() {
		go func() {
			r.killAll(grace)
			<-r.done
			select {
			case <-r.pushed:
			case <-time.After(10 * time.Second):
			}
			r.mu.Lock()
			gone := r.deleted
			r.mu.Unlock()
			if !gone {
				r.n.finalDelete(r.ns, r.name, r.uid)
			}
			r.n.forget(r)
			_ = os.RemoveAll(r.dir)
		}()
	})
}

func (n *Node) finalDelete(ns, name string, uid types.UID) {
	err := n.cs.CoreV1().Pods(ns).Delete(context.Background(), name, metav1.DeleteOptions{
		GracePeriodSeconds: ptr.To(int64(0)), Preconditions: &metav1.Preconditions{UID: &uid}})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		log.Printf("delete pod %s/%s: %v", ns, name, err)
	}
}

// killAll sends SIGTERM to every running container's process group, then SIGKILL after grace.
func (r *podRun) killAll(grace time.Duration) {
	r.signalAll(syscall.SIGTERM)
	if grace > 0 {
		select {
		case <-r.done:
		case <-r.allExited(grace):
		}
	}
	r.signalAll(syscall.SIGKILL)
}

func (r *podRun) allExited(d time.Duration) <-chan struct{} {
	ch := make(chan struct{})
	go func() {
		deadline := time.Now().Add(d)
		for time.Now().Before(deadline) {
			r.mu.Lock()
			any := false
			for _, k := range append(append([]*ctr{}, r.inits...), r.ctrs...) {
				any = any || k.running
			}
			r.mu.Unlock()
			if !any {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		close(ch)
	}()
	return ch
}

func (r *podRun) signalAll(sig syscall.Signal) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, k := range append(append([]*ctr{}, r.inits...), r.ctrs...) {
		if k.running && k.pgid > 0 {
			_ = syscall.Kill(-k.pgid, sig)
		}
	}
}

// run executes the pod: volumes, init containers, containers, restarts, status.
func (r *podRun) run(ctx context.Context) {
	defer r.pushOnce.Do(func() { close(r.pushed) })
	pusherDone := make(chan struct{})
	go func() {
		defer close(pusherDone)
		for {
			final := false
			select {
			case <-r.dirty:
			case <-r.done:
				final = true
			}
			r.pushUntilDone(ctx)
			if final {
				return
			}
		}
	}()
	defer func() { <-pusherDone }()
	defer close(r.done)

	r.mu.Lock()
	r.startTime = metav1.Now()
	r.setCond(corev1.PodScheduled, corev1.ConditionTrue, "")
	r.setCond(corev1.PodInitialized, corev1.ConditionFalse, "ContainersNotInitialized")
	if len(r.inits) == 0 {
		r.setCond(corev1.PodInitialized, corev1.ConditionTrue, "")
	}
	r.setCond(corev1.ContainersReady, corev1.ConditionFalse, "ContainersNotReady")
	r.setCond(corev1.PodReady, corev1.ConditionFalse, "ContainersNotReady")
	r.mu.Unlock()
	r.markDirty()

	if ads := r.pod.Spec.ActiveDeadlineSeconds; ads != nil {
		t := time.AfterFunc(time.Duration(*ads)*time.Second, r.deadlineExceeded)
		defer t.Stop()
	}

	// Like the kubelet, a configuration error (a secret not created yet, a
	// token request racing the API server's cache) leaves the pod Pending and
	// is retried with backoff; only deletion or the deadline ends the pod.
	env, err := r.prepare(ctx)
	for failures := 0; err != nil; failures++ {
		r.mu.Lock()
		for _, k := range append(append([]*ctr{}, r.inits...), r.ctrs...) {
			k.status.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CreateContainerConfigError", Message: err.Error()}}
		}
		r.mu.Unlock()
		r.markDirty()
		log.Printf("pod %s/%s: %v (retrying)", r.ns, r.name, err)
		delay := min(250*time.Millisecond<<min(failures, 6), 10*time.Second)
		select {
		case <-r.stop:
			r.finish(corev1.PodFailed, "", "")
			return
		case <-time.After(delay):
		}
		env, err = r.prepare(ctx)
	}
	policy := r.pod.Spec.RestartPolicy
	for _, k := range r.inits {
		for {
			code := r.runOnce(ctx, k, env)
			if code == 0 {
				break
			}
			if policy == corev1.RestartPolicyNever || r.stopped() {
				r.finish(corev1.PodFailed, "", "")
				return
			}
			if !r.backoff(k) {
				r.finish(corev1.PodFailed, "", "")
				return
			}
		}
		if r.stopped() {
			r.finish(corev1.PodFailed, "", "")
			return
		}
	}
	r.mu.Lock()
	r.setCond(corev1.PodInitialized, corev1.ConditionTrue, "")
	r.phase = corev1.PodRunning
	r.mu.Unlock()

	var wg sync.WaitGroup
	for _, k := range r.ctrs {
		wg.Add(1)
		go func(k *ctr) {
			defer wg.Done()
			for {
				code := r.runOnce(ctx, k, env)
				if r.stopped() || policy == corev1.RestartPolicyNever || (policy == corev1.RestartPolicyOnFailure && code == 0) {
					return
				}
				if !r.backoff(k) {
					return
				}
			}
		}(k)
	}
	wg.Wait()
	phase := corev1.PodSucceeded
	r.mu.Lock()
	for _, k := range r.ctrs {
		if t := k.status.State.Terminated; t == nil || t.ExitCode != 0 {
			phase = corev1.PodFailed
		}
	}
	if r.reason == "DeadlineExceeded" {
		phase = corev1.PodFailed
	}
	r.mu.Unlock()
	r.finish(phase, "", "")
}

func (r *podRun) stopped() bool {
	select {
	case <-r.stop:
		return true
	default:
		return false
	}
}

// backoff waits before a restart; false when the pod is stopping.
func (r *podRun) backoff(k *ctr) bool {
	r.mu.Lock()
	n := k.status.RestartCount
	r.mu.Unlock()
	d := time.Second << min(n, 4)
	if d > 10*time.Second {
		d = 10 * time.Second
	}
	select {
	case <-r.stop:
		return false
	case <-time.After(d):
		return true
	}
}

func (r *podRun) finish(phase corev1.PodPhase, reason, msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.finished {
		return
	}
	r.finished = true
	if r.reason == "DeadlineExceeded" {
		phase = corev1.PodFailed
	}
	r.phase = phase
	if reason != "" {
		r.reason, r.message = reason, msg
	}
	r.setCond(corev1.ContainersReady, corev1.ConditionFalse, "PodCompleted")
	r.setCond(corev1.PodReady, corev1.ConditionFalse, "PodCompleted")
	r.markDirty()
}

func (r *podRun) deadlineExceeded() {
	r.mu.Lock()
	if r.finished || r.terminating {
		r.mu.Unlock()
		return
	}
	r.terminating = true
	r.reason = "DeadlineExceeded"
	r.message = "Pod was active on the node longer than the specified deadline"
	r.mu.Unlock()
	log.Printf("pod %s/%s: deadline exceeded", r.ns, r.name)
	r.stopNow()
	grace := time.Duration(ptr.Deref(r.pod.Spec.TerminationGracePeriodSeconds, 30)) * time.Second
	if grace > 5*time.Second {
		grace = 5 * time.Second
	}
	r.killAll(grace)
}

// runOnce starts one process for the container and waits for it; returns the exit code.
func (r *podRun) runOnce(ctx context.Context, k *ctr, env []string) int32 {
	if r.stopped() {
		return 137
	}
	cenv, argv, wd, err := r.containerEnv(ctx, k, env)
	var cmd *exec.Cmd
	var logf *os.File
	if err == nil {
		logf, err = os.OpenFile(k.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	}
	if err == nil {
		_ = os.Remove(k.termPath)
		var f *os.File
		if f, err = os.OpenFile(k.termPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o666); err == nil {
			f.Close()
		}
	}
	if err == nil {
		var path string
		path, err = lookPath(argv[0], cenv)
		if err == nil {
			cmd = exec.Command(path, argv[1:]...)
			cmd.Args[0] = argv[0]
			cmd.Env = cenv
			if !r.n.mountNS {
				cmd.Dir = wd
			}
			cmd.Stdout, cmd.Stderr = logf, logf
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
			if r.n.mountNS {
				// "processnode mount-exec" bind-mounts the volumes in this private namespace
				cmd.SysProcAttr.Unshareflags = syscall.CLONE_NEWNS
			}
			r.mu.Lock()
			if r.terminating {
				err = errors.New("pod is terminating")
			} else {
				err = cmd.Start()
				if err == nil {
					k.pgid = cmd.Process.Pid
					k.running = true
					k.logDone = make(chan struct{})
					if k.status.State.Terminated != nil {
						// a restart: the previous termination becomes lastState
						k.status.LastTerminationState = k.status.State
						k.status.RestartCount++
					}
					k.status.State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}}
					k.status.ContainerID = fmt.Sprintf("process://%d", cmd.Process.Pid)
					k.status.Ready = !k.init
					k.status.Started = ptr.To(true)
					if !k.init {
						allRunning := true
						for _, o := range r.ctrs {
							allRunning = allRunning && o.running
						}
						if allRunning {
							r.setCond(corev1.ContainersReady, corev1.ConditionTrue, "")
							r.setCond(corev1.PodReady, corev1.ConditionTrue, "")
						}
					}
				}
			}
			r.mu.Unlock()
		}
	}
	if err != nil {
		if logf != nil {
			fmt.Fprintf(logf, "processnode: cannot start container %s: %v\n", k.spec.Name, err)
			logf.Close()
		}
		now := metav1.Now()
		r.mu.Lock()
		r.setTerminated(k, &corev1.ContainerStateTerminated{ExitCode: 128, Reason: "StartError", Message: err.Error(), StartedAt: now, FinishedAt: now})
		r.mu.Unlock()
		r.markDirty()
		return 128
	}
	r.markDirty()
	r.n.recordPgid(k.pgid, true)
	werr := cmd.Wait()
	logf.Close()
	// a container's processes die with it
	_ = syscall.Kill(-k.pgid, syscall.SIGKILL)
	r.n.recordPgid(k.pgid, false)
	code := int32(0)
	if werr != nil {
		code = 1
		var ee *exec.ExitError
		if errors.As(werr, &ee) {
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok {
				if ws.Signaled() {
					code = 128 + int32(ws.Signal())
				} else {
					code = int32(ws.ExitStatus())
				}
			}
		}
	}
	reason := "Completed"
	if code != 0 {
		reason = "Error"
	}
	msg := readTermination(k, code)
	r.mu.Lock()
	started := metav1.Now()
	if k.status.State.Running != nil {
		started = k.status.State.Running.StartedAt
	}
	r.setTerminated(k, &corev1.ContainerStateTerminated{ExitCode: code, Reason: reason, Message: msg, StartedAt: started, FinishedAt: metav1.Now(),
		ContainerID: k.status.ContainerID})
	r.mu.Unlock()
	r.markDirty()
	return code
}

// setTerminated records a terminated state (caller holds r.mu).
func (r *podRun) setTerminated(k *ctr, t *corev1.ContainerStateTerminated) {
	k.status.State = corev1.ContainerState{Terminated: t}
	k.status.Ready = false
	k.status.Started = ptr.To(false)
	if k.running {
		k.running = false
		close(k.logDone)
	}
	if !k.init {
		r.setCond(corev1.ContainersReady, corev1.ConditionFalse, "ContainersNotReady")
		r.setCond(corev1.PodReady, corev1.ConditionFalse, "ContainersNotReady")
	}
}

func readTermination(k *ctr, code int32) string {
	b, _ := os.ReadFile(k.termPath)
	if len(b) > 4096 {
		b = b[:4096]
	}
	if len(b) == 0 && code != 0 && k.spec.TerminationMessagePolicy == corev1.TerminationMessageFallbackToLogsOnError {
		lb, _ := os.ReadFile(k.logPath)
		lines := strings.Split(strings.TrimRight(string(lb), "\n"), "\n")
		if len(lines) > 80 {
			lines = lines[len(lines)-80:]
		}
		s := strings.Join(lines, "\n")
		if len(s) > 2048 {
			s = s[len(s)-2048:]
		}
		return s
	}
	return string(b)
}

func lookPath(name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		if st, err := os.Stat(name); err != nil {
			return "", err
		} else if st.IsDir() || st.Mode()&0o111 == 0 {
			return "", fmt.Errorf("%s: not an executable file", name)
		}
		return name, nil
	}
	path := ""
	for _, e := range env {
		if strings.HasPrefix(e, "PATH=") {
			path = e[5:]
		}
	}
	for _, d := range filepath.SplitList(path) {
		if d == "" {
			d = "."
		}
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("executable file %q not found in $PATH (%s)", name, path)
}

func (n *Node) recordPgid(pgid int, on bool) {
	if n.cfg.PgidDir == "" {
		return
	}
	p := filepath.Join(n.cfg.PgidDir, itoa(pgid))
	if on {
		_ = os.WriteFile(p, []byte(n.cfg.Name+"\n"), 0o644)
	} else {
		_ = os.Remove(p)
	}
}

// buildStatus renders the pod status as a kubelet would report it.
func (r *podRun) buildStatus(base corev1.PodStatus) corev1.PodStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := base
	st.Phase = r.phase
	if r.finished || r.reason == "DeadlineExceeded" {
		st.Reason, st.Message = r.reason, r.message
	}
	if !r.startTime.IsZero() {
		st.StartTime = ptr.To(r.startTime)
	}
	st.HostIP = "127.0.0.1"
	st.HostIPs = []corev1.HostIP{{IP: "127.0.0.1"}}
	st.PodIP = "127.0.0.1"
	st.PodIPs = []corev1.PodIP{{IP: "127.0.0.1"}}
	var conds []corev1.PodCondition
	for _, c := range base.Conditions {
		if _, ours := r.conds[c.Type]; !ours {
			conds = append(conds, c)
		}
	}
	for _, t := range []corev1.PodConditionType{corev1.PodScheduled, corev1.PodInitialized, corev1.ContainersReady, corev1.PodReady} {
		if c, ok := r.conds[t]; ok {
			if t == corev1.PodScheduled {
				// keep the scheduler's own condition when it has one
				found := false
				for _, b := range base.Conditions {
					if b.Type == t {
						found = true
						conds = append(conds, b)
					}
				}
				if found {
					continue
				}
			}
			conds = append(conds, c)
		}
	}
	st.Conditions = conds
	st.InitContainerStatuses = nil
	for _, k := range r.inits {
		st.InitContainerStatuses = append(st.InitContainerStatuses, *k.status.DeepCopy())
	}
	st.ContainerStatuses = nil
	for _, k := range r.ctrs {
		cs := *k.status.DeepCopy()
		if (r.finished || r.terminating) && cs.State.Running != nil {
			cs.Ready = false
		}
		st.ContainerStatuses = append(st.ContainerStatuses, cs)
	}
	return st
}

// pushUntilDone writes the current status, retrying (e.g. while the API server restarts)
// until it is written, the pod is gone, or the node stops.
func (r *podRun) pushUntilDone(ctx context.Context) {
	delay := 200 * time.Millisecond
	giveUp := time.Now().Add(10 * time.Minute)
	for {
		err := r.pushStatus()
		// Forbidden is retried too: right after an API server (re)start the Node authorizer
		// may not know yet that the pod is bound to this node.
		if err == nil || apierrors.IsNotFound(err) || ctx.Err() != nil || time.Now().After(giveUp) {
			break
		}
		r.mu.Lock()
		gone := r.deleted
		r.mu.Unlock()
		if gone {
			break
		}
		log.Printf("pod %s/%s: status: %v (retrying)", r.ns, r.name, err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		if delay *= 2; delay > 5*time.Second {
			delay = 5 * time.Second
		}
	}
	r.mu.Lock()
	fin := r.finished
	r.mu.Unlock()
	if fin {
		r.pushOnce.Do(func() { close(r.pushed) })
	}
}

// pushStatus writes the pod status once (conflicts are retried at once with a fresh read).
func (r *podRun) pushStatus() error {
	pods := r.n.cs.CoreV1().Pods(r.ns)
	first := true
	return retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		var cur *corev1.Pod
		if first && r.n.podCache != nil {
			// the informer's copy saves a GET; a conflict falls back to a fresh read
			if o, ok, _ := r.n.podCache.GetByKey(r.ns + "/" + r.name); ok && o.(*corev1.Pod).UID == r.uid {
				cur = o.(*corev1.Pod).DeepCopy()
			}
		}
		first = false
		if cur == nil {
			var err error
			if cur, err = pods.Get(context.Background(), r.name, metav1.GetOptions{}); err != nil {
				return err
			}
		}
		if cur.UID != r.uid {
			return apierrors.NewNotFound(corev1.Resource("pods"), r.name)
		}
		cur.Status = r.buildStatus(cur.Status)
		_, err := pods.UpdateStatus(context.Background(), cur, metav1.UpdateOptions{})
		return err
	})
}

// shutdown kills every container (used when the node stops).
func (n *Node) shutdown(grace time.Duration) {
	n.mu.Lock()
	var runs []*podRun
	for _, r := range n.pods {
		runs = append(runs, r)
	}
	n.mu.Unlock()
	var wg sync.WaitGroup
	for _, r := range runs {
		wg.Add(1)
		go func(r *podRun) {
			defer wg.Done()
			r.mu.Lock()
			r.terminating = true
			r.mu.Unlock()
			r.stopNow()
			r.killAll(grace)
		}(r)
	}
	wg.Wait()
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// mount maps a path as the pod sees it to a real path on this machine.
type mount struct {
	Pod      string `json:"pod"`
	Real     string `json:"real"`
	ReadOnly bool   `json:"ro,omitempty"`
	File     bool   `json:"file,omitempty"`
}

// retryForbidden retries reads that the Node authorizer may refuse for a moment
// after the pod was bound (its graph is filled asynchronously).
func retryForbidden[T any](f func() (T, error)) (T, error) {
	var v T
	var err error
	for i := 0; i < 20; i++ {
		v, err = f()
		if err == nil || !apierrors.IsForbidden(err) {
			return v, err
		}
		time.Sleep(250 * time.Millisecond)
	}
	return v, err
}

func (r *podRun) secret(ctx context.Context, name string) (*corev1.Secret, error) {
	return retryForbidden(func() (*corev1.Secret, error) {
		return r.n.cs.CoreV1().Secrets(r.ns).Get(ctx, name, metav1.GetOptions{})
	})
}

func (r *podRun) configMap(ctx context.Context, name string) (*corev1.ConfigMap, error) {
	return retryForbidden(func() (*corev1.ConfigMap, error) {
		return r.n.cs.CoreV1().ConfigMaps(r.ns).Get(ctx, name, metav1.GetOptions{})
	})
}

// fieldValue resolves a downward API fieldRef.
func (r *podRun) fieldValue(path string) (string, error) {
	p := r.pod
	switch path {
	case "metadata.name":
		return p.Name, nil
	case "metadata.namespace":
		return p.Namespace, nil
	case "metadata.uid":
		return string(p.UID), nil
	case "spec.nodeName":
		return r.n.cfg.Name, nil
	case "spec.serviceAccountName":
		return p.Spec.ServiceAccountName, nil
	case "status.hostIP", "status.podIP", "status.hostIPs", "status.podIPs":
		return "127.0.0.1", nil
	case "metadata.labels", "metadata.annotations":
		m := p.Labels
		if path == "metadata.annotations" {
			m = p.Annotations
		}
		var keys []string
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var b strings.Builder
		for _, k := range keys {
			fmt.Fprintf(&b, "%s=%q\n", k, m[k])
		}
		return b.String(), nil
	}
	for _, pre := range []string{"metadata.labels", "metadata.annotations"} {
		if strings.HasPrefix(path, pre+"['") && strings.HasSuffix(path, "']") {
			key := path[len(pre)+2 : len(path)-2]
			if pre == "metadata.labels" {
				return p.Labels[key], nil
			}
			return p.Annotations[key], nil
		}
	}
	return "", fmt.Errorf("unsupported fieldRef %q", path)
}

// resourceValue resolves a resourceFieldRef (limits default to the node's allocatable).
func (r *podRun) resourceValue(cname string, ref *corev1.ResourceFieldSelector) (string, error) {
	var c *corev1.Container
	for i := range r.pod.Spec.Containers {
		if r.pod.Spec.Containers[i].Name == cname {
			c = &r.pod.Spec.Containers[i]
		}
	}
	for i := range r.pod.Spec.InitContainers {
		if r.pod.Spec.InitContainers[i].Name == cname {
			c = &r.pod.Spec.InitContainers[i]
		}
	}
	if c == nil {
		return "", fmt.Errorf("resourceFieldRef: no container %q", cname)
	}
	kind, name, _ := strings.Cut(ref.Resource, ".")
	rn := corev1.ResourceName(name)
	var q resource.Quantity
	var ok bool
	if kind == "requests" {
		q, ok = c.Resources.Requests[rn]
	} else {
		q, ok = c.Resources.Limits[rn]
	}
	if !ok {
		if kind == "requests" {
			q = resource.MustParse("0")
		} else {
			q = r.n.cfg.Capacity[rn]
		}
	}
	div := ref.Divisor
	if div.IsZero() {
		div = resource.MustParse("1")
	}
	v := math.Ceil(float64(q.MilliValue()) / float64(div.MilliValue()))
	return fmt.Sprintf("%d", int64(v)), nil
}

func writeFile(dir, rel string, data []byte, mode *int32) error {
	p := filepath.Join(dir, filepath.Clean("/"+rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	m := os.FileMode(0o644)
	if mode != nil {
		m = os.FileMode(*mode)
	}
	return os.WriteFile(p, data, m)
}

func keyItems(data map[string][]byte, items []corev1.KeyToPath) (map[string][]byte, map[string]*int32, error) {
	out, modes := map[string][]byte{}, map[string]*int32{}
	if len(items) == 0 {
		for k, v := range data {
			out[k] = v
		}
		return out, modes, nil
	}
	for _, it := range items {
		v, ok := data[it.Key]
		if !ok {
			return nil, nil, fmt.Errorf("key %q not found", it.Key)
		}
		out[it.Path] = v
		modes[it.Path] = it.Mode
	}
	return out, modes, nil
}

func cmData(cm *corev1.ConfigMap) map[string][]byte {
	d := map[string][]byte{}
	for k, v := range cm.Data {
		d[k] = []byte(v)
	}
	for k, v := range cm.BinaryData {
		d[k] = v
	}
	return d
}

// prepare creates the pod directory and materializes its volumes.
func (r *podRun) prepare(ctx context.Context) ([]string, error) {
	if err := os.MkdirAll(r.dir, 0o755); err != nil {
		return nil, err
	}
	for _, k := range append(append([]*ctr{}, r.inits...), r.ctrs...) {
		if err := os.MkdirAll(k.dir, 0o755); err != nil {
			return nil, err
		}
	}
	r.volumes = map[string]string{}
	for _, v := range r.pod.Spec.Volumes {
		dir := filepath.Join(r.dir, "volumes", v.Name)
		r.volumes[v.Name] = dir
		var files map[string][]byte
		var modes map[string]*int32
		var err error
		switch {
		case v.EmptyDir != nil:
		case v.HostPath != nil:
			r.volumes[v.Name] = v.HostPath.Path
			if t := v.HostPath.Type; t != nil && *t == corev1.HostPathDirectoryOrCreate {
				_ = os.MkdirAll(v.HostPath.Path, 0o755)
			}
			continue
		case v.ConfigMap != nil:
			cm, gerr := r.configMap(ctx, v.ConfigMap.Name)
			if gerr != nil {
				if ptr.Deref(v.ConfigMap.Optional, false) && apierrors.IsNotFound(gerr) {
					break
				}
				return nil, fmt.Errorf("volume %s: configmap %s: %w", v.Name, v.ConfigMap.Name, gerr)
			}
			files, modes, err = keyItems(cmData(cm), v.ConfigMap.Items)
		case v.Secret != nil:
			s, gerr := r.secret(ctx, v.Secret.SecretName)
			if gerr != nil {
				if ptr.Deref(v.Secret.Optional, false) && apierrors.IsNotFound(gerr) {
					break
				}
				return nil, fmt.Errorf("volume %s: secret %s: %w", v.Name, v.Secret.SecretName, gerr)
			}
			files, modes, err = keyItems(s.Data, v.Secret.Items)
		case v.DownwardAPI != nil:
			files, modes = map[string][]byte{}, map[string]*int32{}
			for _, it := range v.DownwardAPI.Items {
				val, ferr := r.downwardItem(it)
				if ferr != nil {
					return nil, fmt.Errorf("volume %s: %w", v.Name, ferr)
				}
				files[it.Path], modes[it.Path] = []byte(val), it.Mode
			}
		case v.Projected != nil:
			files, modes = map[string][]byte{}, map[string]*int32{}
			for _, src := range v.Projected.Sources {
				var f map[string][]byte
				var m map[string]*int32
				switch {
				case src.ConfigMap != nil:
					cm, gerr := r.configMap(ctx, src.ConfigMap.Name)
					if gerr != nil {
						if apierrors.IsNotFound(gerr) && ptr.Deref(src.ConfigMap.Optional, false) {
							continue
						}
						return nil, fmt.Errorf("volume %s: configmap %s: %w", v.Name, src.ConfigMap.Name, gerr)
					}
					f, m, err = keyItems(cmData(cm), src.ConfigMap.Items)
				case src.Secret != nil:
					s, gerr := r.secret(ctx, src.Secret.Name)
					if gerr != nil {
						if apierrors.IsNotFound(gerr) && ptr.Deref(src.Secret.Optional, false) {
							continue
						}
						return nil, fmt.Errorf("volume %s: secret %s: %w", v.Name, src.Secret.Name, gerr)
					}
					f, m, err = keyItems(s.Data, src.Secret.Items)
				case src.DownwardAPI != nil:
					for _, it := range src.DownwardAPI.Items {
						val, ferr := r.downwardItem(it)
						if ferr != nil {
							return nil, fmt.Errorf("volume %s: %w", v.Name, ferr)
						}
						files[it.Path], modes[it.Path] = []byte(val), it.Mode
					}
				case src.ServiceAccountToken != nil:
					tok, terr := r.token(ctx, src.ServiceAccountToken)
					if terr != nil {
						return nil, fmt.Errorf("volume %s: service account token: %w", v.Name, terr)
					}
					files[src.ServiceAccountToken.Path] = []byte(tok)
				}
				if err != nil {
					return nil, fmt.Errorf("volume %s: %w", v.Name, err)
				}
				for k, b := range f {
					files[k], modes[k] = b, m[k]
				}
			}
		default:
			log.Printf("pod %s/%s: volume %s: unsupported type, using an empty directory", r.ns, r.name, v.Name)
		}
		if err != nil {
			return nil, fmt.Errorf("volume %s: %w", v.Name, err)
		}
		if err := os.MkdirAll(dir, 0o777); err != nil {
			return nil, err
		}
		_ = os.Chmod(dir, 0o777)
		for rel, b := range files {
			if err := writeFile(dir, rel, b, modes[rel]); err != nil {
				return nil, fmt.Errorf("volume %s: %w", v.Name, err)
			}
		}
	}
	path := os.Getenv("PATH")
	if r.n.cfg.PathPrepend != "" {
		path = r.n.cfg.PathPrepend + ":" + path
	}
	if r.n.cfg.PathFile != "" {
		if b, err := os.ReadFile(r.n.cfg.PathFile); err == nil {
			if extra := strings.Trim(strings.TrimSpace(string(b)), ":"); extra != "" {
				path = extra + ":" + path
			}
		}
	}
	base := []string{
		"PATH=" + path,
		"HOSTNAME=" + r.name,
		"HOME=" + r.dir,
		"PODFLOW_POD_DIR=" + r.dir,
	}
	if r.n.apiHost != "" {
		base = append(base, "KUBERNETES_SERVICE_HOST="+r.n.apiHost, "KUBERNETES_SERVICE_PORT="+r.n.apiPort)
	}
	for _, e := range r.n.cfg.PassEnv {
		if v, ok := os.LookupEnv(e); ok {
			base = append(base, e+"="+v)
		}
	}
	return base, nil
}

func (r *podRun) downwardItem(it corev1.DownwardAPIVolumeFile) (string, error) {
	if it.FieldRef != nil {
		return r.fieldValue(it.FieldRef.FieldPath)
	}
	if it.ResourceFieldRef != nil {
		return r.resourceValue(it.ResourceFieldRef.ContainerName, it.ResourceFieldRef)
	}
	return "", fmt.Errorf("downwardAPI item %s: no source", it.Path)
}

func (r *podRun) token(ctx context.Context, p *corev1.ServiceAccountTokenProjection) (string, error) {
	sa := r.pod.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	tr := &authv1.TokenRequest{Spec: authv1.TokenRequestSpec{
		ExpirationSeconds: p.ExpirationSeconds,
		BoundObjectRef:    &authv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: r.name, UID: r.uid},
	}}
	if p.Audience != "" {
		tr.Spec.Audiences = []string{p.Audience}
	}
	out, err := retryForbidden(func() (*authv1.TokenRequest, error) {
		return r.n.cs.CoreV1().ServiceAccounts(r.ns).CreateToken(ctx, sa, tr, metav1.CreateOptions{})
	})
	if err != nil {
		return "", err
	}
	return out.Status.Token, nil
}

// expand implements Kubernetes $(VAR) expansion ($$ escapes a dollar).
func expand(s string, lookup func(string) (string, bool)) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			name := s[i+2 : i+2+end]
			if v, ok := lookup(name); ok {
				b.WriteString(v)
			} else {
				b.WriteString(s[i : i+3+end])
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}

// mounts lists the container's volume mounts plus its termination message file.
func (r *podRun) mounts(k *ctr) ([]mount, error) {
	var ms []mount
	for _, vm := range k.spec.VolumeMounts {
		real, ok := r.volumes[vm.Name]
		if !ok {
			return nil, fmt.Errorf("volumeMount %s: no volume %q", vm.MountPath, vm.Name)
		}
		if vm.SubPath != "" {
			real = filepath.Join(real, filepath.Clean("/"+vm.SubPath))
			if _, err := os.Stat(real); os.IsNotExist(err) {
				_ = os.MkdirAll(real, 0o777)
			}
		}
		st, err := os.Stat(real)
		ms = append(ms, mount{Pod: filepath.Clean(vm.MountPath), Real: real, ReadOnly: vm.ReadOnly, File: err == nil && !st.IsDir()})
	}
	tp := k.spec.TerminationMessagePath
	if tp == "" {
		tp = corev1.TerminationMessagePathDefault
	}
	ms = append(ms, mount{Pod: filepath.Clean(tp), Real: k.termPath, File: true})
	sort.SliceStable(ms, func(i, j int) bool { return len(ms[i].Pod) > len(ms[j].Pod) })
	return ms, nil
}

// rewrite replaces pod paths by real paths (fallback when mount namespaces are unavailable).
func rewrite(s string, ms []mount) string {
	for _, m := range ms {
		if m.Pod == "/" {
			continue
		}
		var b strings.Builder
		rest := s
		for {
			i := strings.Index(rest, m.Pod)
			if i < 0 {
				b.WriteString(rest)
				break
			}
			end := i + len(m.Pod)
			startOK := i == 0 || !isPathChar(rest[i-1])
			endOK := end == len(rest) || rest[end] == '/' || !isPathChar(rest[end])
			b.WriteString(rest[:i])
			if startOK && endOK {
				b.WriteString(m.Real)
			} else {
				b.WriteString(m.Pod)
			}
			rest = rest[end:]
		}
		s = b.String()
	}
	return s
}

func isPathChar(c byte) bool {
	return c == '/' || c == '.' || c == '-' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// containerEnv resolves the container's environment, argv and working directory.
func (r *podRun) containerEnv(ctx context.Context, k *ctr, base []string) (env, argv []string, wd string, err error) {
	vals := map[string]string{}
	var order []string
	set := func(name, v string) {
		if _, ok := vals[name]; !ok {
			order = append(order, name)
		}
		vals[name] = v
	}
	for _, e := range base {
		n, v, _ := strings.Cut(e, "=")
		set(n, v)
	}
	lookup := func(n string) (string, bool) { v, ok := vals[n]; return v, ok }
	for _, ef := range k.spec.EnvFrom {
		var data map[string][]byte
		switch {
		case ef.ConfigMapRef != nil:
			cm, gerr := r.configMap(ctx, ef.ConfigMapRef.Name)
			if gerr != nil {
				if apierrors.IsNotFound(gerr) && ptr.Deref(ef.ConfigMapRef.Optional, false) {
					continue
				}
				return nil, nil, "", fmt.Errorf("envFrom configmap %s: %w", ef.ConfigMapRef.Name, gerr)
			}
			data = cmData(cm)
		case ef.SecretRef != nil:
			s, gerr := r.secret(ctx, ef.SecretRef.Name)
			if gerr != nil {
				if apierrors.IsNotFound(gerr) && ptr.Deref(ef.SecretRef.Optional, false) {
					continue
				}
				return nil, nil, "", fmt.Errorf("envFrom secret %s: %w", ef.SecretRef.Name, gerr)
			}
			data = s.Data
		}
		keys := make([]string, 0, len(data))
		for key := range data {
			keys = append(keys, key)
		}
		sort.Strings(keys)
		for _, key := range keys {
			set(ef.Prefix+key, string(data[key]))
		}
	}
	for _, e := range k.spec.Env {
		if e.ValueFrom == nil {
			set(e.Name, expand(e.Value, lookup))
			continue
		}
		vf := e.ValueFrom
		switch {
		case vf.FieldRef != nil:
			v, ferr := r.fieldValue(vf.FieldRef.FieldPath)
			if ferr != nil {
				return nil, nil, "", fmt.Errorf("env %s: %w", e.Name, ferr)
			}
			set(e.Name, v)
		case vf.ResourceFieldRef != nil:
			cn := vf.ResourceFieldRef.ContainerName
			if cn == "" {
				cn = k.spec.Name
			}
			v, ferr := r.resourceValue(cn, vf.ResourceFieldRef)
			if ferr != nil {
				return nil, nil, "", fmt.Errorf("env %s: %w", e.Name, ferr)
			}
			set(e.Name, v)
		case vf.SecretKeyRef != nil:
			s, gerr := r.secret(ctx, vf.SecretKeyRef.Name)
			opt := ptr.Deref(vf.SecretKeyRef.Optional, false)
			if gerr != nil {
				if opt && apierrors.IsNotFound(gerr) {
					continue
				}
				return nil, nil, "", fmt.Errorf("env %s: secret %s: %w", e.Name, vf.SecretKeyRef.Name, gerr)
			}
			v, ok := s.Data[vf.SecretKeyRef.Key]
			if !ok {
				if opt {
					continue
				}
				return nil, nil, "", fmt.Errorf("env %s: key %q not in secret %s", e.Name, vf.SecretKeyRef.Key, vf.SecretKeyRef.Name)
			}
			set(e.Name, string(v))
		case vf.ConfigMapKeyRef != nil:
			cm, gerr := r.configMap(ctx, vf.ConfigMapKeyRef.Name)
			opt := ptr.Deref(vf.ConfigMapKeyRef.Optional, false)
			if gerr != nil {
				if opt && apierrors.IsNotFound(gerr) {
					continue
				}
				return nil, nil, "", fmt.Errorf("env %s: configmap %s: %w", e.Name, vf.ConfigMapKeyRef.Name, gerr)
			}
			v, ok := cmData(cm)[vf.ConfigMapKeyRef.Key]
			if !ok {
				if opt {
					continue
				}
				return nil, nil, "", fmt.Errorf("env %s: key %q not in configmap %s", e.Name, vf.ConfigMapKeyRef.Key, vf.ConfigMapKeyRef.Name)
			}
			set(e.Name, string(v))
		}
	}
	ms, err := r.mounts(k)
	if err != nil {
		return nil, nil, "", err
	}
	set("PODFLOW_TERMINATION_MESSAGE_PATH", k.termPath)
	for _, c := range [][]string{k.spec.Command, k.spec.Args} {
		for _, a := range c {
			argv = append(argv, expand(a, lookup))
		}
	}
	if len(argv) == 0 {
		return nil, nil, "", fmt.Errorf("container %s has neither command nor args (images are ignored on a process node)", k.spec.Name)
	}
	wd = k.spec.WorkingDir
	if wd == "" {
		wd = r.dir
	}
	if !r.n.mountNS {
		for i := range argv {
			argv[i] = rewrite(argv[i], ms)
		}
		for _, n := range order {
			vals[n] = rewrite(vals[n], ms)
		}
		wd = rewrite(wd, ms)
		_ = os.MkdirAll(wd, 0o755)
	}
	for _, n := range order {
		env = append(env, n+"="+vals[n])
	}
	if r.n.mountNS {
		// run through "processnode mount-exec": bind mounts in a private mount namespace
		spec, _ := json.Marshal(mountExecSpec{Mounts: ms, Dir: wd})
		self, _ := os.Executable()
		argv = append([]string{self, "mount-exec", string(spec), "--"}, argv...)
	}
	return env, argv, wd, nil
}

// mountExecSpec is what the mount-exec helper receives.
type mountExecSpec struct {
	Mounts []mount `json:"mounts"`
	Dir    string  `json:"dir"`
}

// probeMountNS reports whether this process may create private mount namespaces.
func probeMountNS() bool {
	self, err := os.Executable()
	if err != nil {
		return false
	}
	pa := &syscall.ProcAttr{Sys: &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}, Files: []uintptr{0, 1, 2}}
	pid, err := syscall.ForkExec(self, []string{self, "mount-exec", `{"mounts":[],"dir":"/"}`, "--", "/bin/true"}, pa)
	if err != nil {
		return false
	}
	var ws syscall.WaitStatus
	if _, err := syscall.Wait4(pid, &ws, 0, nil); err != nil {
		return false
	}
	return ws.Exited() && ws.ExitStatus() == 0
}

// mountExec runs in the container's private mount namespace: bind mounts, chdir, exec.
func mountExec(args []string) {
	fail := func(format string, a ...interface{}) {
		fmt.Fprintf(os.Stderr, "processnode: "+format+"\n", a...)
		os.Exit(127)
	}
	if len(args) < 3 || args[1] != "--" {
		fail("usage: mount-exec SPEC -- ARGV...")
	}
	var spec mountExecSpec
	if err := json.Unmarshal([]byte(args[0]), &spec); err != nil {
		fail("bad spec: %v", err)
	}
	argv := args[2:]
	// never touch the mounts of the parent's namespace: only run in a fresh one
	self, err1 := os.Readlink("/proc/self/ns/mnt")
	parent, err2 := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", os.Getppid()))
	if err1 != nil || err2 != nil || self == parent {
		fail("mount-exec must run in a private mount namespace (started by processnode)")
	}
	if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
		fail("make / private: %v", err)
	}
	// mount the shortest paths first so nested mounts stay visible
	for i := len(spec.Mounts) - 1; i >= 0; i-- {
		m := spec.Mounts[i]
		if m.File {
			if _, err := os.Stat(m.Pod); os.IsNotExist(err) {
				_ = os.MkdirAll(filepath.Dir(m.Pod), 0o755)
				if f, err := os.OpenFile(m.Pod, os.O_CREATE|os.O_WRONLY, 0o666); err == nil {
					f.Close()
				}
			}
		} else if err := os.MkdirAll(m.Pod, 0o755); err != nil {
			fail("create mount point %s: %v", m.Pod, err)
		}
		if err := syscall.Mount(m.Real, m.Pod, "", syscall.MS_BIND|syscall.MS_REC, ""); err != nil {
			fail("bind mount %s at %s: %v", m.Real, m.Pod, err)
		}
		if m.ReadOnly {
			_ = syscall.Mount("", m.Pod, "", syscall.MS_BIND|syscall.MS_REMOUNT|syscall.MS_RDONLY|syscall.MS_REC, "")
		}
	}
	if err := os.MkdirAll(spec.Dir, 0o755); err != nil {
		fail("working directory %s: %v", spec.Dir, err)
	}
	if err := os.Chdir(spec.Dir); err != nil {
		fail("working directory %s: %v", spec.Dir, err)
	}
	path, err := lookPath(argv[0], os.Environ())
	if err != nil {
		fail("%v", err)
	}
	if err := syscall.Exec(path, argv, os.Environ()); err != nil {
		fail("exec %s: %v", path, err)
	}
}

// Command processnode is a tiny kubelet for tests: it registers a Node, keeps it
// Ready, and runs the containers of the pods bound to it as local processes
// (the image is ignored). See tests/cluster/README.md and docs/testing.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// Config holds the command-line settings.
type Config struct {
	Name          string
	Kubeconfig    string
	Port          int
	TLSCert       string
	TLSKey        string
	ClientCA      string
	RootDir       string
	PgidDir       string
	PathPrepend   string
	PathFile      string
	PassEnv       []string
	Labels        map[string]string
	Taints        []corev1.Taint
	Capacity      corev1.ResourceList
	KubeletVer    string
	QPS           float64
	Burst         int
	StatusPeriod  time.Duration
	LeasePeriod   time.Duration
	LeaseDuration int32
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "mount-exec" {
		mountExec(os.Args[2:])
		return
	}
	var cfg Config
	var mountMode string
	var cpu, mem, eph, pods, labels, taints, passEnv string
	flag.StringVar(&cfg.Name, "name", "process-node-1", "node name")
	flag.StringVar(&cfg.Kubeconfig, "kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig of the node identity (system:node:<name>)")
	flag.IntVar(&cfg.Port, "port", 27250, "HTTPS port of the kubelet endpoint (container logs)")
	flag.StringVar(&cfg.TLSCert, "tls-cert", "", "serving certificate for the kubelet endpoint")
	flag.StringVar(&cfg.TLSKey, "tls-key", "", "serving key for the kubelet endpoint")
	flag.StringVar(&cfg.ClientCA, "client-ca", "", "CA that signs the API server's kubelet client certificate")
	flag.StringVar(&cfg.RootDir, "root-dir", "", "directory for per-pod directories (default /tmp/podflow-processnode-<name>)")
	flag.StringVar(&cfg.PgidDir, "pgid-dir", "", "directory where the process group id of every running container is recorded (optional)")
	flag.StringVar(&cfg.PathPrepend, "path-prepend", os.Getenv("PODFLOW_PATH_PREPEND"), "colon-separated directories put in front of PATH for every container (env PODFLOW_PATH_PREPEND)")
	flag.StringVar(&cfg.PathFile, "path-prepend-file", "", "file whose content (colon-separated directories) is also put in front of PATH; re-read for every container")
	flag.StringVar(&passEnv, "pass-env", "LANG,LC_ALL,TZ,PODFLOW_CLUSTER_MARK", "comma-separated host environment variables passed to every container")
	flag.StringVar(&cpu, "cpu", "16", "cpu capacity")
	flag.StringVar(&mem, "memory", "64Gi", "memory capacity")
	flag.StringVar(&eph, "ephemeral-storage", "200Gi", "ephemeral-storage capacity")
	flag.StringVar(&pods, "pods", "110", "pods capacity")
	flag.StringVar(&labels, "labels", "type=process", "extra node labels k=v,k=v")
	flag.StringVar(&taints, "taints", "", "node taints key=value:Effect,...")
	flag.StringVar(&cfg.KubeletVer, "kubelet-version", "v0.0.0-processnode", "version reported in node.status.nodeInfo")
	flag.Float64Var(&cfg.QPS, "kube-api-qps", 200, "client QPS")
	flag.IntVar(&cfg.Burst, "kube-api-burst", 400, "client burst")
	flag.DurationVar(&cfg.StatusPeriod, "node-status-period", 20*time.Second, "node status heartbeat period")
	flag.DurationVar(&cfg.LeasePeriod, "lease-period", 10*time.Second, "node lease renew period")
	flag.StringVar(&mountMode, "mount-namespaces", "auto", "auto|true|false: bind-mount volumes at their mountPath in a private mount namespace per container (else paths are rewritten)")
	flag.Parse()
	cfg.LeaseDuration = 40
	if cfg.RootDir == "" {
		cfg.RootDir = filepath.Join(os.TempDir(), "podflow-processnode-"+cfg.Name)
	}
	for _, e := range strings.Split(passEnv, ",") {
		if e = strings.TrimSpace(e); e != "" {
			cfg.PassEnv = append(cfg.PassEnv, e)
		}
	}
	cfg.Labels = map[string]string{}
	for _, kv := range strings.Split(labels, ",") {
		if kv = strings.TrimSpace(kv); kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		cfg.Labels[k] = v
	}
	for _, t := range strings.Split(taints, ",") {
		if t = strings.TrimSpace(t); t == "" {
			continue
		}
		kv, eff, ok := strings.Cut(t, ":")
		if !ok {
			log.Fatalf("bad taint %q: want key=value:Effect", t)
		}
		k, v, _ := strings.Cut(kv, "=")
		cfg.Taints = append(cfg.Taints, corev1.Taint{Key: k, Value: v, Effect: corev1.TaintEffect(eff)})
	}
	cfg.Capacity = corev1.ResourceList{}
	for name, val := range map[corev1.ResourceName]string{corev1.ResourceCPU: cpu, corev1.ResourceMemory: mem, corev1.ResourceEphemeralStorage: eph, corev1.ResourcePods: pods} {
		q, err := resource.ParseQuantity(val)
		if err != nil {
			log.Fatalf("bad %s capacity %q: %v", name, val, err)
		}
		cfg.Capacity[name] = q
	}
	if cfg.TLSCert == "" || cfg.TLSKey == "" || cfg.ClientCA == "" {
		log.Fatal("--tls-cert, --tls-key and --client-ca are required")
	}

	rc, err := clientcmd.BuildConfigFromFlags("", cfg.Kubeconfig)
	if err != nil {
		log.Fatalf("kubeconfig: %v", err)
	}
	rc.QPS = float32(cfg.QPS)
	rc.Burst = cfg.Burst
	rc.UserAgent = "processnode/" + cfg.Name
	rc.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { return requestTimeout{rt: rt, timeout: 20 * time.Second} }
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		log.Fatalf("client: %v", err)
	}
	if err := os.MkdirAll(filepath.Join(cfg.RootDir, "pods"), 0o755); err != nil {
		log.Fatal(err)
	}
	if cfg.PgidDir != "" {
		if err := os.MkdirAll(cfg.PgidDir, 0o755); err != nil {
			log.Fatal(err)
		}
	}

	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer cancel()
	n := newNode(cfg, cs, rc.Host)
	switch mountMode {
	case "true":
		n.mountNS = true
	case "false":
	default:
		n.mountNS = probeMountNS()
	}
	log.Printf("mount namespaces: %v", n.mountNS)
	if err := n.register(ctx); err != nil {
		log.Fatalf("register node: %v", err)
	}
	if err := n.startLogServer(); err != nil {
		log.Fatalf("kubelet endpoint: %v", err)
	}
	go n.heartbeat(ctx)
	n.watchPods(ctx)
	log.Printf("node %s ready: port %d, root %s", cfg.Name, cfg.Port, cfg.RootDir)
	<-ctx.Done()
	log.Printf("shutting down: killing all containers")
	n.shutdown(3 * time.Second)
	fmt.Fprintln(os.Stderr, "processnode: stopped")
}

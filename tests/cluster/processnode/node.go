package main

import (
	"context"
	"log"
	"net/url"
	"runtime"
	"strconv"
	"sync"
	"time"

	coordv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
)

// Node is the process node: the node object, its heartbeats and its pods.
type Node struct {
	cfg     Config
	cs      kubernetes.Interface
	apiHost string
	apiPort string
	nodeUID types.UID
	mountNS bool // run containers in private mount namespaces with bind mounts

	podCache cache.Indexer // the informer's pods bound to this node

	mu    sync.Mutex
	pods  map[types.UID]*podRun
	names map[string]*podRun // namespace/name -> latest run (for logs)
}

func newNode(cfg Config, cs kubernetes.Interface, host string) *Node {
	n := &Node{cfg: cfg, cs: cs, pods: map[types.UID]*podRun{}, names: map[string]*podRun{}}
	if u, err := url.Parse(host); err == nil {
		n.apiHost, n.apiPort = u.Hostname(), u.Port()
	}
	return n
}

func (n *Node) nodeConditions(now metav1.Time) []corev1.NodeCondition {
	c := func(t corev1.NodeConditionType, s corev1.ConditionStatus, reason, msg string) corev1.NodeCondition {
		return corev1.NodeCondition{Type: t, Status: s, Reason: reason, Message: msg, LastHeartbeatTime: now, LastTransitionTime: now}
	}
	return []corev1.NodeCondition{
		c(corev1.NodeMemoryPressure, corev1.ConditionFalse, "KubeletHasSufficientMemory", "process node"),
		c(corev1.NodeDiskPressure, corev1.ConditionFalse, "KubeletHasNoDiskPressure", "process node"),
		c(corev1.NodePIDPressure, corev1.ConditionFalse, "KubeletHasSufficientPID", "process node"),
		c(corev1.NodeReady, corev1.ConditionTrue, "KubeletReady", "process node is posting ready status"),
	}
}

func (n *Node) fillStatus(node *corev1.Node, now metav1.Time) {
	// keep transition times of conditions that did not change
	old := map[corev1.NodeConditionType]corev1.NodeCondition{}
	for _, c := range node.Status.Conditions {
		old[c.Type] = c
	}
	conds := n.nodeConditions(now)
	for i, c := range conds {
		if o, ok := old[c.Type]; ok && o.Status == c.Status {
			conds[i].LastTransitionTime = o.LastTransitionTime
		}
	}
	node.Status.Conditions = conds
	node.Status.Capacity = n.cfg.Capacity.DeepCopy()
	node.Status.Allocatable = n.cfg.Capacity.DeepCopy()
	node.Status.Addresses = []corev1.NodeAddress{
		{Type: corev1.NodeInternalIP, Address: "127.0.0.1"},
		{Type: corev1.NodeHostName, Address: n.cfg.Name},
	}
	node.Status.DaemonEndpoints.KubeletEndpoint.Port = int32(n.cfg.Port)
	node.Status.NodeInfo = corev1.NodeSystemInfo{
		MachineID: "processnode-" + n.cfg.Name, SystemUUID: "processnode-" + n.cfg.Name, BootID: "processnode",
		KernelVersion: "linux", OSImage: "podflow process node", ContainerRuntimeVersion: "process://1",
		KubeletVersion: n.cfg.KubeletVer, OperatingSystem: runtime.GOOS, Architecture: runtime.GOARCH,
	}
}

func (n *Node) register(ctx context.Context) error {
	labels := map[string]string{
		"kubernetes.io/hostname": n.cfg.Name,
		"kubernetes.io/os":       runtime.GOOS,
		"kubernetes.io/arch":     runtime.GOARCH,
		"podflow.dev/node":       "process",
	}
	for k, v := range n.cfg.Labels {
		labels[k] = v
	}
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: n.cfg.Name, Labels: labels},
		Spec:       corev1.NodeSpec{Taints: n.cfg.Taints},
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		created, err := n.cs.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
		if err == nil {
			n.nodeUID = created.UID
			break
		}
		if apierrors.IsAlreadyExists(err) {
			cur, gerr := n.cs.CoreV1().Nodes().Get(ctx, n.cfg.Name, metav1.GetOptions{})
			if gerr == nil {
				n.nodeUID = cur.UID
				break
			}
			err = gerr
		}
		if time.Now().After(deadline) {
			return err
		}
		log.Printf("register: %v (retrying)", err)
		time.Sleep(time.Second)
	}
	if err := n.updateNodeStatus(ctx); err != nil {
		return err
	}
	return n.renewLease(ctx)
}

func (n *Node) updateNodeStatus(ctx context.Context) error {
	var last error
	for i := 0; i < 5; i++ {
		node, err := n.cs.CoreV1().Nodes().Get(ctx, n.cfg.Name, metav1.GetOptions{})
		if err != nil {
			last = err
			time.Sleep(200 * time.Millisecond)
			continue
		}
		n.fillStatus(node, metav1.Now())
		_, err = n.cs.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{})
		if err == nil {
			return nil
		}
		last = err
		time.Sleep(200 * time.Millisecond)
	}
	return last
}

func (n *Node) renewLease(ctx context.Context) error {
	leases := n.cs.CoordinationV1().Leases(corev1.NamespaceNodeLease)
	now := metav1.NewMicroTime(time.Now())
	l, err := leases.Get(ctx, n.cfg.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		l = &coordv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: n.cfg.Name, Namespace: corev1.NamespaceNodeLease,
				OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: n.cfg.Name, UID: n.nodeUID}}},
			Spec: coordv1.LeaseSpec{HolderIdentity: ptr.To(n.cfg.Name), LeaseDurationSeconds: ptr.To(n.cfg.LeaseDuration), RenewTime: &now},
		}
		_, err = leases.Create(ctx, l, metav1.CreateOptions{})
		return err
	}
	if err != nil {
		return err
	}
	l.Spec.HolderIdentity = ptr.To(n.cfg.Name)
	l.Spec.LeaseDurationSeconds = ptr.To(n.cfg.LeaseDuration)
	l.Spec.RenewTime = &now
	_, err = leases.Update(ctx, l, metav1.UpdateOptions{})
	return err
}

func (n *Node) heartbeat(ctx context.Context) {
	lease := time.NewTicker(n.cfg.LeasePeriod)
	status := time.NewTicker(n.cfg.StatusPeriod)
	defer lease.Stop()
	defer status.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-lease.C:
			if err := n.renewLease(ctx); err != nil && ctx.Err() == nil {
				log.Printf("lease: %v", err)
			}
		case <-status.C:
			if err := n.updateNodeStatus(ctx); err != nil && ctx.Err() == nil {
				log.Printf("node status: %v", err)
			}
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

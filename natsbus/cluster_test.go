package natsbus_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobus/bus"
	"github.com/gobus/bus/natsbus"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// cluster is a JetStream cluster of embedded servers whose routes run
// through proxies, so that a test can cut a server off from the others.
type cluster struct {
	servers []*server.Server
	urls    []string // the servers' client URLs, in order
	routes  routeMesh
}

// url names every server, in order.
func (c *cluster) url() string { return strings.Join(c.urls, ",") }

// startCluster starts a JetStream cluster of n embedded servers with routes
// on localhost, random ports and temporary stores.
func startCluster(t *testing.T, n int) *cluster {
	t.Helper()
	ports := freePorts(t, n)
	c := &cluster{servers: make([]*server.Server, n), routes: newRouteMesh(t, ports)}
	for i := range c.servers {
		o := serverOptions(t.TempDir(), -1)
		o.ServerName = fmt.Sprint("s", i)
		// One route per pair, and no address to gossip, so that no server
		// finds a way to another around the proxies.
		o.Cluster = server.ClusterOpts{Name: "bus", Host: "127.0.0.1", Port: ports[i], PoolSize: -1, Advertise: "127.0.0.1:1"}
		o.Routes = server.RoutesFromStr(strings.Join(c.routes.routes(i), ","))
		s, err := server.NewServer(o)
		if err != nil {
			t.Fatal(err)
		}
		s.Start()
		t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
		c.servers[i] = s
	}
	for _, s := range c.servers {
		if !s.ReadyForConnections(10 * time.Second) {
			t.Fatal("server did not start")
		}
		c.urls = append(c.urls, s.ClientURL())
	}
	// Wait until the cluster has elected its meta leader.
	nc := connect(t, c.url())
	js, _ := jetstream.New(nc)
	waitFor(t, "the JetStream cluster", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := js.AccountInfo(ctx)
		return err == nil
	})
	// And until the leader has heard from every server: before that, a
	// stream of n replicas finds "no suitable peers for placement".
	waitFor(t, "every server's JetStream stats at the meta leader", func() bool {
		for _, s := range c.servers {
			if s.JetStreamIsLeader() {
				return len(s.JetStreamClusterPeers()) == n
			}
		}
		return false
	})
	return c
}

// tally records the events handled by one or more buses, by ID.
type tally struct {
	mu     sync.Mutex
	events map[string]*bus.Event
	counts map[string]int
}

func (ty *tally) attach(t *testing.T, b *bus.Bus) {
	t.Helper()
	if err := b.RegisterHandler("tally", &bus.Handler{Matcher: "order", Handle: func(e *bus.Event) {
		ty.mu.Lock()
		ty.events[e.ID] = e
		ty.counts[e.ID]++
		ty.mu.Unlock()
	}}); err != nil {
		t.Fatal(err)
	}
}

func (ty *tally) distinct() int {
	ty.mu.Lock()
	defer ty.mu.Unlock()
	return len(ty.events)
}

// check verifies that every sent event was handled exactly once, with its
// identity and data.
func (ty *tally) check(t *testing.T, sent map[string]*bus.Event) {
	t.Helper()
	ty.mu.Lock()
	defer ty.mu.Unlock()
	for id, want := range sent {
		got := ty.events[id]
		switch {
		case got == nil:
			t.Errorf("event %s never handled", id)
		case ty.counts[id] != 1:
			t.Errorf("event %s handled %d times", id, ty.counts[id])
		case got.TxID != want.TxID || got.Topic != want.Topic || got.Source != "a" || got.OccurredAt != want.OccurredAt || got.Data != want.Data:
			t.Errorf("event %s arrived as %+v; want %+v", id, got, want)
		}
	}
	if len(ty.events) != len(sent) {
		t.Errorf("%d distinct events handled; want %d", len(ty.events), len(sent))
	}
}

// shutDownLeader stops the server that leads stream BUS.
func shutDownLeader(t *testing.T, nc *nats.Conn, servers []*server.Server) {
	t.Helper()
	js, _ := jetstream.New(nc)
	st, err := js.Stream(context.Background(), "BUS")
	if err != nil {
		t.Fatal(err)
	}
	leader := st.CachedInfo().Cluster.Leader
	for _, s := range servers {
		if s.Name() == leader {
			t.Logf("shutting down %s, the stream's leader", leader)
			s.Shutdown()
			return
		}
	}
	t.Fatalf("no server named %q leads the stream", leader)
}

// TestClusterLeaderLoss exchanges 5,000 events on an R3 stream and shuts
// down the server leading the stream halfway, in confirm and pipelined
// mode: no Emit fails, and every event is handled exactly once on the
// receiving node with its identity intact. A further case restarts the
// receiving node halfway instead.
func TestClusterLeaderLoss(t *testing.T) {
	for _, tt := range []struct {
		name          string
		maxInFlight   int
		restartReader bool
	}{
		{"confirm", 0, false},
		{"pipelined", 256, false},
		{"pipelined/receiver-restart", 256, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := startCluster(t, 3)
			url := c.url()
			r3 := func(c *natsbus.Config) {
				c.Provision = &natsbus.StreamSettings{Replicas: 3}
				c.MaxInFlight = tt.maxInFlight
			}
			a := newNodeWith(t, url, "a", `^order\.`, "", r3)
			handled := &tally{events: map[string]*bus.Event{}, counts: map[string]int{}}
			b := newNodeWith(t, url, "b", "", `^order\.`, r3)
			handled.attach(t, b.bus)

			const events = 5000
			sent := map[string]*bus.Event{}
			for i := range events {
				e, err := a.bus.Emit(context.Background(), "order.created", Order{ID: fmt.Sprint(i), Cents: i})
				if err != nil {
					t.Fatalf("Emit %d: %v", i, err)
				}
				sent[e.ID] = e
				if i == events/2 {
					if tt.restartReader {
						if err := b.bridge.Close(context.Background()); err != nil {
							t.Fatal(err)
						}
						// The backlog arrives as soon as the bridge starts.
						b = startNode(t, url, "b", "", `^order\.`, func(b *bus.Bus) { handled.attach(t, b) }, r3)
					} else {
						shutDownLeader(t, a.nc, c.servers)
					}
				}
			}
			if err := a.bridge.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(30 * time.Second)
			for handled.distinct() < events {
				if time.Now().After(deadline) {
					errs := b.errors()
					t.Fatalf("B handled %d of %d events; A %+v, B %+v; B reported %d errors, the first: %v",
						handled.distinct(), events, a.bridge.Stats(), b.bridge.Stats(), len(errs), errs[:min(3, len(errs))])
				}
				time.Sleep(5 * time.Millisecond)
			}
			settle(t, b.nc, "b") // a duplicate has arrived, if any
			handled.check(t, sent)
			if st := a.bridge.Stats(); st.Published != events || st.Failed != 0 {
				t.Errorf("A Stats() = %+v; want %d published, none failed", st, events)
			}
		})
	}
}

// TestMinoritySideMovesToMajority cuts the server that a publishing and a
// receiving node are connected to off from the other two, which keep the
// quorum, and leaves it cut: both nodes must move to the majority, so that
// every Emit (or Flush) succeeds and every event is handled once, before
// the partition heals. Without the move, publishes fail after
// PublishTimeout and the receiver waits for the heal.
func TestMinoritySideMovesToMajority(t *testing.T) {
	for _, tt := range []struct {
		name        string
		maxInFlight int
		leaderOnCut bool // b's consumer is led by the server that is cut off
	}{
		{"confirm", 0, false},
		{"pipelined", 16, false},
		// The cut server goes on answering as the consumer's leader, with
		// heartbeats and no messages, until it learns better: b must see
		// that its leader hears from no replica (it waited for the heal
		// before).
		{"consumer led by the cut server", 0, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := startCluster(t, 3)
			configure := func(cfg *natsbus.Config) {
				cfg.Provision = &natsbus.StreamSettings{Replicas: 3}
				cfg.MaxInFlight = tt.maxInFlight
				cfg.PublishTimeout = 20 * time.Second
			}
			// In server order: both nodes are on s0.
			a := newNodeWith(t, c.url(), "a", `^order\.`, "", configure, nats.DontRandomize())
			b := newNodeWith(t, c.url(), "b", "", `^order\.`, configure, nats.DontRandomize())
			handled := &tally{events: map[string]*bus.Event{}, counts: map[string]int{}}
			handled.attach(t, b.bus)
			for _, n := range []*node{a, b} {
				if got := n.nc.ConnectedServerName(); got != "s0" {
					t.Fatalf("connected to %s; want s0", got)
				}
			}

			sent := map[string]*bus.Event{}
			emit := func(from, to int) {
				t.Helper()
				for i := from; i < to; i++ {
					e, err := a.bus.Emit(context.Background(), "order.created", Order{ID: fmt.Sprint(i), Cents: i})
					if err != nil {
						t.Fatalf("Emit %d: %v", i, err)
					}
					sent[e.ID] = e
				}
				if err := a.bridge.Flush(context.Background()); err != nil {
					t.Fatalf("Flush: %v", err)
				}
			}
			emit(0, 10)
			waitFor(t, "the events before the cut", func() bool { return handled.distinct() == 10 })
			if tt.leaderOnCut {
				waitFor(t, "b's consumer led by s0", func() bool {
					if consumerInfo(t, a.nc, "b").Cluster.Leader == "s0" {
						return true
					}
					a.nc.Request("$JS.API.CONSUMER.LEADER.STEPDOWN.BUS.b", nil, 2*time.Second)
					time.Sleep(500 * time.Millisecond)
					return false
				})
			}

			c.routes.cut(0, true)
			emit(10, 30)
			// Within the partition: 3 s without answers before a move, the
			// majority's election, and a margin; NATS's own step-down of a
			// cut-off leader took 17 s here.
			waitWithin(t, 12*time.Second, "the events after the cut", func() bool { return handled.distinct() == 30 })
			settle(t, a.nc, "b")
			handled.check(t, sent)
			for name, n := range map[string]*node{"a": a, "b": b} {
				if got := n.nc.ConnectedServerName(); got == "s0" {
					t.Errorf("%s is still on s0, cut off", name)
				}
				moved := false
				for _, err := range n.errors() {
					moved = moved || strings.Contains(err.Error(), "has not answered for JetStream")
				}
				if !moved {
					t.Errorf("%s reported no move; reported %v", name, n.errors())
				}
			}
			if st := a.bridge.Stats(); st.Published != 30 || st.Failed != 0 {
				t.Errorf("a: Stats() = %+v; want 30 published, none failed", st)
			}
		})
	}
}

// TestNewOnMinoritySide starts a node on a server cut off from the other
// two: New's requests go unanswered there, and New must move to the
// majority within its ctx rather than wait on one request until the ctx
// ends, as it did before. The consumer it creates there gets its leader
// seconds later; an event emitted meanwhile must still reach it (with
// NATS's "new" policy, resolved at the leader's election, it did not, in
// 3 of 6 runs).
func TestNewOnMinoritySide(t *testing.T) {
	c := startCluster(t, 3)
	r3 := func(cfg *natsbus.Config) { cfg.Provision = &natsbus.StreamSettings{Replicas: 3} }
	a := newNodeWith(t, c.url(), "a", `^order\.`, "", r3)
	c.routes.cut(0, true)
	// newNodeWith fails the test if New does.
	b := newNodeWith(t, c.url(), "b", "", `^order\.`, r3, nats.DontRandomize())
	if got := b.nc.ConnectedServerName(); got == "s0" {
		t.Errorf("b is on s0, cut off")
	}
	got := collect(t, b.bus, "orders", `^order\.`)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("a on %s reported %v; b on %s reported %v", a.nc.ConnectedServerName(), a.errors(), b.nc.ConnectedServerName(), b.errors())
		}
	})
	if _, err := a.bus.Emit(context.Background(), "order.created", Order{ID: "1"}); err != nil {
		t.Fatal(err)
	}
	got.await(t, 1)
}

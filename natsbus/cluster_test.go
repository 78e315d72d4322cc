package natsbus_test

import (
	"context"
	"fmt"
	"net"
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

// startCluster starts a JetStream cluster of n embedded servers with routes
// on localhost, random ports and temporary stores, and returns them with
// a client URL naming them all.
func startCluster(t *testing.T, n int) ([]*server.Server, string) {
	t.Helper()
	ports := make([]int, n)
	for i := range ports {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ports[i] = ln.Addr().(*net.TCPAddr).Port
		ln.Close()
	}
	var routes []string
	for _, p := range ports {
		routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", p))
	}
	servers := make([]*server.Server, n)
	var urls []string
	for i := range servers {
		o := &server.Options{
			ServerName: fmt.Sprint("s", i), Host: "127.0.0.1", Port: -1,
			JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true,
			Cluster: server.ClusterOpts{Name: "bus", Host: "127.0.0.1", Port: ports[i]},
			Routes:  server.RoutesFromStr(strings.Join(routes, ",")),
		}
		s, err := server.NewServer(o)
		if err != nil {
			t.Fatal(err)
		}
		s.Start()
		t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
		servers[i] = s
	}
	for _, s := range servers {
		if !s.ReadyForConnections(10 * time.Second) {
			t.Fatal("server did not start")
		}
		urls = append(urls, s.ClientURL())
	}
	url := strings.Join(urls, ",")
	// Wait until the cluster has elected its meta leader.
	nc := connect(t, url)
	js, _ := jetstream.New(nc)
	waitFor(t, "the JetStream cluster", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := js.AccountInfo(ctx)
		return err == nil
	})
	return servers, url
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
			servers, url := startCluster(t, 3)
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
						shutDownLeader(t, a.nc, servers)
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
			time.Sleep(200 * time.Millisecond) // let a duplicate arrive, if any
			handled.check(t, sent)
			if st := a.bridge.Stats(); st.Published != events || st.Failed != 0 {
				t.Errorf("A Stats() = %+v; want %d published, none failed", st, events)
			}
		})
	}
}

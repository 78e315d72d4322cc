package natsbus_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobus/bus"
	"github.com/gobus/bus/natsbus"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(serverProcessEnv); dir != "" {
		serveForParent(dir)
		return
	}
	if role := os.Getenv(chaosRoleEnv); role != "" {
		runChaosRole(role)
	}
	goleak.VerifyTestMain(m)
}

// serverProcessEnv, set to a directory, makes the test binary a NATS
// server for the process that started it; see startServerProcess.
const serverProcessEnv = "NATSBUS_TEST_SERVER_DIR"

// serveForParent runs a JetStream server storing in dir, prints its URL
// and serves until standard input closes.
func serveForParent(dir string) {
	s, err := server.NewServer(serverOptions(dir, -1))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		fmt.Fprintln(os.Stderr, "nats server did not start")
		os.Exit(1)
	}
	fmt.Println(s.ClientURL())
	io.Copy(io.Discard, os.Stdin)
	s.Shutdown()
	s.WaitForShutdown()
}

// startServerProcess starts a JetStream server in a process of its own,
// so that what the test's process holds is the nodes' alone, and stops it
// when the test ends. It returns the server's URL.
func startServerProcess(t testing.TB) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), serverProcessEnv+"="+t.TempDir())
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); cmd.Wait() })
	url, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("server process: %v", err)
	}
	return strings.TrimSpace(url)
}

type Order struct {
	ID    string
	Cents int
}

var codec = natsbus.JSON{Types: map[string]reflect.Type{
	"order.created":   reflect.TypeFor[Order](),
	"invoice.created": reflect.TypeFor[int](),
}}

// serverOptions are those of a quiet JetStream server on localhost, storing
// in dir, on port (-1: a random one).
func serverOptions(dir string, port int) *server.Options {
	return &server.Options{Host: "127.0.0.1", Port: port, JetStream: true, StoreDir: dir, NoLog: true, NoSigs: true}
}

// startServer starts an embedded NATS server with JetStream storing in dir,
// on port (-1: a random one), and stops it when the test ends.
func startServer(t testing.TB, dir string, port int, opts ...func(*server.Options)) *server.Server {
	t.Helper()
	o := serverOptions(dir, port)
	for _, f := range opts {
		f(o)
	}
	s, err := server.NewServer(o)
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server did not start")
	}
	t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
	return s
}

func connect(t testing.TB, url string, opts ...nats.Option) *nats.Conn {
	t.Helper()
	opts = append([]nats.Option{nats.ReconnectWait(20 * time.Millisecond), nats.MaxReconnects(-1)}, opts...)
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// node is one process: a bus joined to the stream by a bridge.
type node struct {
	bus    *bus.Bus
	bridge *natsbus.Bridge
	nc     *nats.Conn
	mu     sync.Mutex
	errs   []error
}

func newNode(t testing.TB, url, name, publish, receive string, natsOpts ...nats.Option) *node {
	t.Helper()
	return newNodeWith(t, url, name, publish, receive, nil, natsOpts...)
}

// newNodeWith is newNode with a last say over the bridge's Config.
func newNodeWith(t testing.TB, url, name, publish, receive string, configure func(*natsbus.Config), natsOpts ...nats.Option) *node {
	t.Helper()
	return startNode(t, url, name, publish, receive, nil, configure, natsOpts...)
}

// startNode is newNodeWith that lets attach register handlers before the
// bridge starts. A node whose consumer has a backlog (a replay, a restart)
// needs them there: the bridge delivers at once, and an event no handler
// matches is acknowledged.
func startNode(t testing.TB, url, name, publish, receive string, attach func(*bus.Bus), configure func(*natsbus.Config), natsOpts ...nats.Option) *node {
	t.Helper()
	b := newBus(t, uint64(len(name)*31+int(name[0])), "order.created", "invoice.created")
	if attach != nil {
		attach(b)
	}
	n := &node{bus: b, nc: connect(t, url, natsOpts...)}
	cfg := natsbus.Config{
		Node: name, Publish: publish, Receive: receive, Codec: codec, Provision: &natsbus.StreamSettings{},
		AckWait: time.Second, // redeliver what a reconnect loses quickly
		OnError: func(err error) { n.mu.Lock(); n.errs = append(n.errs, err); n.mu.Unlock() },
	}
	if configure != nil {
		configure(&cfg)
	}
	var err error
	n.bridge, err = natsbus.New(context.Background(), b, n.nc, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := n.bridge.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return n
}

// newBus returns a bus whose event IDs carry node, with the topics
// registered.
func newBus(t testing.TB, node uint64, topics ...string) *bus.Bus {
	t.Helper()
	gen, err := bus.NewGenerator(node, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := bus.NewBus(gen)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.RegisterTopics(topics...); err != nil {
		t.Fatal(err)
	}
	return b
}

func (n *node) errors() []error {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]error(nil), n.errs...)
}

// collector records the events a handler receives, by ID.
type collector struct {
	mu     sync.Mutex
	events map[string]*bus.Event
	calls  int
}

func collect(t testing.TB, b *bus.Bus, key, matcher string) *collector {
	c := &collector{events: map[string]*bus.Event{}}
	if err := b.RegisterHandler(key, &bus.Handler{Matcher: matcher, Handle: func(e *bus.Event) {
		c.mu.Lock()
		c.events[e.ID] = e
		c.calls++
		c.mu.Unlock()
	}}); err != nil {
		t.Fatal(err)
	}
	return c
}

// counts returns how many events the handler was called with, and how many
// distinct IDs they had.
func (c *collector) counts() (calls, distinct int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls, len(c.events)
}

// event returns the event received with id, or nil.
func (c *collector) event(id string) *bus.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.events[id]
}

func (c *collector) await(t testing.TB, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		c.mu.Lock()
		got := c.calls
		c.mu.Unlock()
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("received %d events; want %d", got, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestTwoNodesExchangeEvents: orders emitted on A are handled on B with
// their identity; B's invoices, emitted by its handler in the order's
// transaction, come back to A.
func TestTwoNodesExchangeEvents(t *testing.T) {
	s := startServer(t, t.TempDir(), -1)
	a := newNode(t, s.ClientURL(), "a", `^order\.`, `^invoice\.`)
	b := newNode(t, s.ClientURL(), "b", `^invoice\.`, `^order\.`)

	c := newNode(t, s.ClientURL(), "c", "", `^invoice\.`) // receives invoices only
	ordersOnC := collect(t, c.bus, "orders", `^order\.`)
	invoicesOnC := collect(t, c.bus, "invoices", `^invoice\.`)
	ordersOnB := collect(t, b.bus, "orders", `^order\.`)
	invoicesOnA := collect(t, a.bus, "invoices", `^invoice\.`)
	ordersOnA := collect(t, a.bus, "orders", `^order\.`)
	if err := b.bus.RegisterHandler("billing", &bus.Handler{Matcher: `^order\.created$`, HandleErr: bus.Typed(func(e *bus.Event, o Order) {
		if _, err := b.bus.Emit(e.Context(), "invoice.created", o.Cents); err != nil {
			t.Errorf("emit invoice: %v", err)
		}
	})}); err != nil {
		t.Fatal(err)
	}

	const events = 100
	sent := map[string]*bus.Event{}
	for i := range events {
		e, err := a.bus.Emit(context.Background(), "order.created", Order{ID: fmt.Sprint("A-", i), Cents: i})
		if err != nil {
			t.Fatal(err)
		}
		sent[e.ID] = e
	}
	ordersOnB.await(t, events)
	invoicesOnA.await(t, events)
	invoicesOnC.await(t, events)
	settle(t, a.nc, "a", "b", "c") // any duplicate or echo has arrived

	if calls, distinct := ordersOnB.counts(); calls != events || distinct != events {
		t.Errorf("B handled %d orders (%d distinct); want %d", calls, distinct, events)
	}
	for id, want := range sent {
		got := ordersOnB.event(id)
		if got == nil {
			t.Fatalf("order %s never reached B", id)
		}
		if got.TxID != want.TxID || got.Source != "a" || got.OccurredAt != want.OccurredAt || got.Data != want.Data {
			t.Errorf("B got %+v; want ID, TxID, time and data of %+v from source a", got, want)
		}
	}
	if calls, _ := invoicesOnA.counts(); calls != events {
		t.Errorf("A handled %d invoices; want %d", calls, events)
	}
	invoicesOnA.mu.Lock()
	defer invoicesOnA.mu.Unlock()
	for _, inv := range invoicesOnA.events {
		if sent[inv.TxID] == nil || inv.Source != "b" {
			t.Errorf("invoice %s: TxID %s, source %s; want an order's transaction, from b", inv.ID, inv.TxID, inv.Source)
		}
	}
	if calls, _ := ordersOnA.counts(); calls != events {
		t.Errorf("A handled its own orders %d times; want %d (no echo)", calls, events)
	}
	if calls, _ := ordersOnC.counts(); calls != 0 {
		t.Errorf("C, receiving only invoices, handled %d orders", calls)
	}
	if got, want := a.bridge.Stats(), (natsbus.Stats{Published: events, Received: events}); got != want {
		t.Errorf("A stats = %+v; want %+v", got, want)
	}
	if got, want := b.bridge.Stats(), (natsbus.Stats{Published: events, Received: events}); got != want {
		t.Errorf("B stats = %+v; want %+v", got, want)
	}
	if errs := append(a.errors(), b.errors()...); len(errs) != 0 {
		t.Errorf("reported errors: %v", errs)
	}
}

// TestServerRestartLosesAndDuplicatesNothing restarts the server on the
// same store while A emits; B must see every event exactly once.
func TestServerRestartLosesAndDuplicatesNothing(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir, -1)
	url := s.ClientURL()
	a := newNode(t, url, "a", `^order\.`, "")
	b := newNode(t, url, "b", "", ".*")
	got := collect(t, b.bus, "orders", `^order\.`)

	const events = 200
	done := make(chan error, 1)
	go func() {
		for i := range events {
			if _, err := a.bus.Emit(context.Background(), "order.created", Order{ID: fmt.Sprint(i)}); err != nil {
				done <- err
				return
			}
			time.Sleep(2 * time.Millisecond) // keep the stream going across the restart
		}
		done <- nil
	}()
	got.await(t, 50)
	port := s.Addr().(*net.TCPAddr).Port
	s.Shutdown()
	s.WaitForShutdown()
	startServer(t, dir, port)
	received, _ := got.counts()
	t.Logf("server restarted after %d events were received", received)
	if err := <-done; err != nil {
		t.Fatalf("Emit across the restart: %v", err)
	}
	got.await(t, events)
	settle(t, b.nc, "b")
	if calls, distinct := got.counts(); calls != events || distinct != events {
		t.Errorf("B handled %d events (%d distinct); want %d each", calls, distinct, events)
	}
}

// Command demo runs two nodes, each with its own bus, joined by natsbus over
// NATS JetStream: orders emitted on the "shop" node are handled on the
// "billing" node with the same ID and TxID, and billing's invoices come
// back to the shop in the order's transaction.
//
// By default it starts an embedded NATS server with a temporary store, so it
// needs no setup; -url connects to an external server instead.
//
//	go run ./demo
//	go run ./demo -pipelined -orders 2000 -quiet
//	go run ./demo -url nats://127.0.0.1:4222 -orders 10
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"reflect"
	"sync"
	"time"

	"github.com/gobus/bus"
	"github.com/gobus/bus/natsbus"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

type Order struct {
	ID    string
	Cents int
}

var codec = natsbus.JSON{Types: map[string]reflect.Type{
	"order.created":   reflect.TypeFor[Order](),
	"invoice.created": reflect.TypeFor[int](),
}}

func main() {
	url := flag.String("url", "", "NATS server URL; empty starts an embedded server")
	orders := flag.Int("orders", 5, "number of orders the shop emits")
	pipelined := flag.Bool("pipelined", false, "publish in pipelined mode (MaxInFlight 1024) instead of waiting for each event to be stored")
	quiet := flag.Bool("quiet", false, "print only the summary, not every event")
	flag.Parse()
	if *orders < 1 {
		fmt.Fprintln(os.Stderr, "demo: -orders must be at least 1")
		os.Exit(2)
	}
	maxInFlight := 0
	if *pipelined {
		maxInFlight = 1024
	}
	if err := run(*url, *orders, maxInFlight, *quiet); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(url string, orders, maxInFlight int, quiet bool) error {
	printf := func(format string, args ...any) {
		if !quiet {
			fmt.Printf(format, args...)
		}
	}
	if url == "" {
		dir, err := os.MkdirTemp("", "natsbus-demo")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: dir, NoLog: true, NoSigs: true})
		if err != nil {
			return err
		}
		s.Start()
		defer func() { s.Shutdown(); s.WaitForShutdown() }()
		if !s.ReadyForConnections(10 * time.Second) {
			return fmt.Errorf("embedded server did not start")
		}
		url = s.ClientURL()
		fmt.Println("embedded NATS server at", url)
	}

	ctx := context.Background()
	var wg sync.WaitGroup
	wg.Add(orders)
	shop, err := newNode(ctx, url, "shop", 1, `^order\.`, `^invoice\.`, maxInFlight, func(b *bus.Bus) error {
		return b.RegisterHandler("ledger", &bus.Handler{Matcher: `^invoice\.created$`, Handle: func(e *bus.Event) {
			printf("shop     got  %-15s id=%s tx=%s from %s: %v cents\n", e.Topic, e.ID, e.TxID, e.Source, e.Data)
			wg.Done()
		}})
	})
	if err != nil {
		return err
	}
	defer shop.close()
	billing, err := newNode(ctx, url, "billing", 2, `^invoice\.`, `^order\.`, maxInFlight, func(b *bus.Bus) error {
		return b.RegisterHandler("billing", &bus.Handler{Matcher: `^order\.created$`, HandleErr: bus.Typed(func(e *bus.Event, o Order) {
			printf("billing  got  %-15s id=%s tx=%s from %s: %s, %d cents\n", e.Topic, e.ID, e.TxID, e.Source, o.ID, o.Cents)
			if _, err := b.Emit(e.Context(), "invoice.created", o.Cents); err != nil {
				fmt.Println("billing:", err)
			}
		})})
	})
	if err != nil {
		return err
	}
	defer billing.close()

	start := time.Now()
	for i := 1; i <= orders; i++ {
		e, err := shop.bus.Emit(ctx, "order.created", Order{ID: fmt.Sprintf("A-%03d", i), Cents: 1000 * i})
		if err != nil {
			return err
		}
		printf("shop     sent %-15s id=%s tx=%s\n", e.Topic, e.ID, e.TxID)
	}

	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		return fmt.Errorf("invoices did not all arrive")
	}
	elapsed := time.Since(start)
	mode := "confirm mode"
	if maxInFlight > 0 {
		mode = fmt.Sprintf("pipelined mode, MaxInFlight %d", maxInFlight)
	}
	fmt.Printf("\n%d orders and %d invoices crossed in %v (%s): %.0f events/s end to end\n",
		orders, orders, elapsed.Round(time.Millisecond), mode, float64(2*orders)/elapsed.Seconds())
	// A pipelined publish can reach its receiver before its own
	// confirmation reaches the publisher: flush so the counts are final.
	for _, n := range []*node{shop, billing} {
		if err := n.bridge.Flush(ctx); err != nil {
			return err
		}
	}
	fmt.Printf("shop:    %+v\nbilling: %+v\n", shop.bridge.Stats(), billing.bridge.Stats())
	return nil
}

type node struct {
	bus    *bus.Bus
	bridge *natsbus.Bridge
	nc     *nats.Conn
}

// newNode builds a bus, lets handlers register on it, and only then joins it
// to the stream: the bridge delivers received events at once.
func newNode(ctx context.Context, url, name string, id uint64, publish, receive string, maxInFlight int, handlers func(*bus.Bus) error) (*node, error) {
	gen, err := bus.NewGenerator(id, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		return nil, err
	}
	b, err := bus.NewBus(gen)
	if err != nil {
		return nil, err
	}
	if err := b.RegisterTopics("order.created", "invoice.created"); err != nil {
		return nil, err
	}
	if err := handlers(b); err != nil {
		return nil, err
	}
	nc, err := nats.Connect(url, nats.Name(name))
	if err != nil {
		return nil, err
	}
	br, err := natsbus.New(ctx, b, nc, natsbus.Config{
		Node: name, Publish: publish, Receive: receive, Codec: codec,
		MaxInFlight: maxInFlight,
		Provision:   &natsbus.StreamSettings{}, // a demo may create its stream
		OnError:     func(err error) { fmt.Fprintln(os.Stderr, name+":", err) },
	})
	if err != nil {
		nc.Close()
		return nil, err
	}
	return &node{bus: b, bridge: br, nc: nc}, nil
}

func (n *node) close() {
	n.bridge.Close(context.Background())
	n.nc.Close()
}

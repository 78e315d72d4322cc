package natsbus_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/gobus/bus"
	"github.com/gobus/bus/natsbus"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// Two processes' buses joined through a stream: the shop's orders reach
// billing's typed handler as Orders, with no Codec configured.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "natsbus-example")
	defer os.RemoveAll(dir)
	srv, err := server.NewServer(serverOptions(dir, -1)) // an embedded server, for the example
	if err != nil {
		log.Fatal(err)
	}
	srv.Start()
	defer srv.Shutdown()
	if !srv.ReadyForConnections(10 * time.Second) {
		log.Fatal("server not ready")
	}

	// Billing: register the handlers of received topics before New.
	b := exampleBus(1)
	orders, _ := bus.NewTopic[Order](b, "order.created")
	handled := make(chan struct{})
	orders.Handle("invoicer", func(e *bus.Event, o Order) {
		fmt.Printf("billing: order %s, %d cents, from %s\n", o.ID, o.Cents, e.Source)
		close(handled)
	})
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()

	br, err := natsbus.New(ctx, b, nc, natsbus.Config{
		Node:      "billing-1",
		Publish:   `^invoice\.`,              // local events to send
		Receive:   `^order\.`,                // other nodes' events to emit here
		Provision: &natsbus.StreamSettings{}, // create the stream if it is missing
	})
	if err != nil {
		log.Fatal(err)
	}
	defer br.Close(ctx)

	// The shop, another process in production.
	shop := exampleBus(2)
	created, _ := bus.NewTopic[Order](shop, "order.created")
	shopNC, err := nats.Connect(srv.ClientURL())
	if err != nil {
		log.Fatal(err)
	}
	defer shopNC.Close()
	shopBridge, err := natsbus.New(ctx, shop, shopNC, natsbus.Config{Node: "shop-1", Publish: `^order\.`})
	if err != nil {
		log.Fatal(err)
	}
	defer shopBridge.Close(ctx)

	if _, err := created.Emit(ctx, Order{ID: "A-1", Cents: 990}, bus.WithSource("shop")); err != nil {
		log.Fatal(err)
	}
	<-handled
	// Output:
	// billing: order A-1, 990 cents, from shop
}

// exampleBus returns a bus whose event IDs carry node.
func exampleBus(node uint64) *bus.Bus {
	gen, err := bus.NewGenerator(node, time.Time{})
	if err != nil {
		log.Fatal(err)
	}
	b, err := bus.NewBus(gen)
	if err != nil {
		log.Fatal(err)
	}
	return b
}

package sdktest_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	cejs "github.com/cloudevents/sdk-go/protocol/nats_jetstream/v2"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/gobus/bus"
	"github.com/gobus/bus/natsbus"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// A service that is not written with this library publishes into the
// bus's stream with the CloudEvents SDK; a typed bus handler receives it.
func Example_sdkSender() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "sdktest-example")
	defer os.RemoveAll(dir)
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: dir, NoLog: true, NoSigs: true})
	if err != nil {
		log.Fatal(err)
	}
	srv.Start()
	defer srv.Shutdown()
	if !srv.ReadyForConnections(10 * time.Second) {
		log.Fatal("server not ready")
	}
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()

	// Billing, a Go service on the bus.
	gen, _ := bus.NewGenerator(1, time.Time{})
	b, _ := bus.NewBus(gen)
	orders, _ := bus.NewTopic[Order](b, "order.created")
	handled := make(chan struct{})
	orders.Handle("invoicer", func(e *bus.Event, o Order) {
		fmt.Printf("billing: order %s, %d cents, event %s from %s\n", o.ID, o.Cents, e.ID, e.Source)
		close(handled)
	})
	br, err := natsbus.New(ctx, b, nc, natsbus.Config{Node: "billing-1", Receive: `^order\.`, Provision: &natsbus.StreamSettings{}})
	if err != nil {
		log.Fatal(err)
	}
	defer br.Close(ctx)

	// The shop, written in another language in production.
	sender, err := cejs.NewSenderFromConn(nc, "BUS", "bus.order.created", nil)
	if err != nil {
		log.Fatal(err)
	}
	client, err := cloudevents.NewClient(sender)
	if err != nil {
		log.Fatal(err)
	}
	e := cloudevents.NewEvent()
	e.SetID("py-42")
	e.SetSource("/shop/python")
	e.SetType("order.created")
	e.SetData(cloudevents.ApplicationJSON, Order{ID: "A-1", Cents: 250})
	if res := client.Send(ctx, e); !cloudevents.IsACK(res) {
		log.Fatal(res)
	}
	<-handled
	// Output:
	// billing: order A-1, 250 cents, event py-42 from /shop/python
}

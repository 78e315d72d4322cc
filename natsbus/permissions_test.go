package natsbus_test

import (
	"context"
	"testing"
	"time"

	"github.com/gobus/bus"
	"github.com/gobus/bus/natsbus"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Permissions lists, per role, exactly what a node needs on stream BUS
// with prefix bus; the README's Production section documents the same.
var (
	publisherPermissions = &server.Permissions{
		Publish:   &server.SubjectPermission{Allow: []string{"bus.>", "$JS.API.STREAM.INFO.BUS"}},
		Subscribe: &server.SubjectPermission{Allow: []string{"_INBOX.>"}},
	}
	receiverPermissions = &server.Permissions{ // durable consumer "billing"
		Publish: &server.SubjectPermission{Allow: []string{
			"$JS.API.STREAM.INFO.BUS",
			"$JS.API.CONSUMER.INFO.BUS.billing",
			"$JS.API.CONSUMER.CREATE.BUS.billing", "$JS.API.CONSUMER.CREATE.BUS.billing.>",
			"$JS.API.CONSUMER.MSG.NEXT.BUS.billing",
			"$JS.ACK.BUS.billing.>",
		}},
		Subscribe: &server.SubjectPermission{Allow: []string{"_INBOX.>"}},
	}
)

// TestLeastPrivilege runs a publisher and a receiver as users with exactly
// the documented permissions on a stream the operator provisioned; neither
// may change the stream.
func TestLeastPrivilege(t *testing.T) {
	s := startServer(t, t.TempDir(), -1, func(o *server.Options) {
		o.Users = []*server.User{
			{Username: "admin", Password: "a"},
			{Username: "shop", Password: "s", Permissions: publisherPermissions},
			{Username: "billing", Password: "b", Permissions: receiverPermissions},
		}
	})
	admin := connect(t, s.ClientURL(), nats.UserInfo("admin", "a"))
	js, _ := jetstream.New(admin)
	if _, err := js.CreateStream(context.Background(), jetstream.StreamConfig{Name: "BUS", Subjects: []string{"bus.>"}}); err != nil {
		t.Fatal(err)
	}

	node := func(user, pass string, cfg natsbus.Config) (*bus.Bus, *node) {
		gen, _ := bus.NewGenerator(uint64(len(user)), time.Time{})
		b, _ := bus.NewBus(gen)
		b.RegisterTopics("order.created")
		n := &node{bus: b}
		n.nc = connect(t, s.ClientURL(), nats.UserInfo(user, pass), nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			n.mu.Lock()
			n.errs = append(n.errs, err) // permission violations arrive here
			n.mu.Unlock()
		}))
		cfg.Codec = codec
		cfg.OnError = func(err error) { n.mu.Lock(); n.errs = append(n.errs, err); n.mu.Unlock() }
		var err error
		if n.bridge, err = natsbus.New(context.Background(), b, n.nc, cfg); err != nil {
			t.Fatalf("New as %s: %v", user, err)
		}
		t.Cleanup(func() { n.bridge.Close(context.Background()) })
		return b, n
	}
	shop, shopNode := node("shop", "s", natsbus.Config{Node: "shop", Publish: `^order\.`})
	pipelined, pipelinedNode := node("shop", "s", natsbus.Config{Node: "shop-2", Publish: `^order\.`, MaxInFlight: 16})
	_, billing := node("billing", "b", natsbus.Config{Node: "billing", Receive: `^order\.`})
	got := collect(t, billing.bus, "orders", "order")
	for _, b := range []*bus.Bus{shop, pipelined} {
		for range 10 {
			if _, err := b.Emit(context.Background(), "order.created", Order{ID: "A"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := pipelinedNode.bridge.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	got.await(t, 20)
	// Every acknowledgement went through: nothing is left pending.
	waitFor(t, "the acknowledgements", func() bool {
		cons, err := js.Consumer(context.Background(), "BUS", "billing")
		if err != nil {
			t.Fatal(err)
		}
		info, err := cons.Info(context.Background())
		return err == nil && info.NumAckPending == 0 && info.AckFloor.Stream == 20
	})
	if errs := append(append(shopNode.errors(), pipelinedNode.errors()...), billing.errors()...); len(errs) != 0 {
		t.Errorf("errors with least privilege: %v", errs)
	}
}

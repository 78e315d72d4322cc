package natsbus_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobus/bus"
	"github.com/gobus/bus/natsbus"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func TestClientReconnectLosesAndDuplicatesNothing(t *testing.T) {
	for _, tt := range []struct {
		name        string
		maxInFlight int
	}{{"confirm", 0}, {"pipelined", 64}} {
		t.Run(tt.name, func(t *testing.T) {
			s := startServer(t, t.TempDir(), -1)
			a := newNodeWith(t, s.ClientURL(), "a", `^order\.`, "", func(c *natsbus.Config) { c.MaxInFlight = tt.maxInFlight })
			b := newNode(t, s.ClientURL(), "b", "", ".*")
			got := collect(t, b.bus, "orders", `^order\.`)

			const events = 200
			for i := range events {
				if i == events/2 {
					if err := a.nc.ForceReconnect(); err != nil {
						t.Fatal(err)
					}
					if err := b.nc.ForceReconnect(); err != nil {
						t.Fatal(err)
					}
				}
				if _, err := a.bus.Emit(context.Background(), "order.created", Order{ID: fmt.Sprint(i)}); err != nil {
					t.Fatalf("Emit %d: %v", i, err)
				}
			}
			if err := a.bridge.Flush(context.Background()); err != nil {
				t.Fatalf("Flush: %v", err)
			}
			got.await(t, events)
			settle(t, b.nc, "b") // a duplicate has arrived, if any
			if calls, distinct := got.counts(); calls != events || distinct != events {
				t.Errorf("B handled %d events (%d distinct); want %d each", calls, distinct, events)
			}
			if st := a.bridge.Stats(); st.Published != events || st.Failed != 0 {
				t.Errorf("A Stats() = %+v; want %d published, none failed", st, events)
			}
		})
	}
}

// rawPublish puts a message in the stream as another node might, bypassing
// the bridge.
func rawPublish(t *testing.T, nc *nats.Conn, subject, msgID string, headers map[string]string, data []byte) {
	t.Helper()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	msg := &nats.Msg{Subject: subject, Data: data, Header: nats.Header{}}
	for k, v := range headers {
		msg.Header.Set(k, v)
	}
	if _, err := js.PublishMsg(context.Background(), msg, jetstream.WithMsgID(msgID)); err != nil {
		t.Fatal(err)
	}
}

// eventHeaders are the binary-mode CloudEvents headers of an event from
// another publisher.
func eventHeaders(id, topic string) map[string]string {
	return map[string]string{
		"ce-specversion": "1.0", "ce-id": id, "ce-type": topic,
		"ce-source": "elsewhere", "ce-time": "2023-11-14T22:13:20Z",
	}
}

func TestBadMessagesAreRejectedNotRedelivered(t *testing.T) {
	s := startServer(t, t.TempDir(), -1)
	b := newNode(t, s.ClientURL(), "b", "", ".*")
	got := collect(t, b.bus, "all", ".*")

	rawPublish(t, b.nc, "bus.order.created", "m1", eventHeaders("e1", "order.created"), []byte("{not json"))
	rawPublish(t, b.nc, "bus.order.created", "m2", nil, []byte(`{}`))
	rawPublish(t, b.nc, "bus.unknown.topic", "m3", eventHeaders("e3", "unknown.topic"), []byte(`{}`))
	rawPublish(t, b.nc, "bus.order.created", "m4", eventHeaders("e4", "order.created"), []byte(`{"ID":"A-4","Cents":4}`))
	got.await(t, 1)

	waitFor(t, "three messages rejected", func() bool { return b.bridge.Stats().Rejected >= 3 })
	if st := b.bridge.Stats(); st.Rejected != 3 || st.Received != 1 {
		t.Errorf("Stats() = %+v; want 3 rejected, 1 received", st)
	}
	errs := b.errors()
	var bad, notFound int
	for _, err := range errs {
		switch {
		case errors.Is(err, natsbus.ErrMessage):
			bad++
		case errors.Is(err, bus.ErrTopicNotFound):
			notFound++
		}
	}
	if bad != 2 || notFound != 1 {
		t.Errorf("reported %v; want 2 ErrMessage and 1 ErrTopicNotFound", errs)
	}
	if e := got.event("e4"); e == nil || e.Data != (Order{ID: "A-4", Cents: 4}) {
		t.Errorf("good event = %+v; want its Order", e)
	}

	// Nothing is pending: rejected messages were terminated or acknowledged.
	settle(t, b.nc, "b")
	// Nothing pending and nothing awaiting acknowledgement: no redelivery
	// can follow.
	if n := len(b.errors()); n != len(errs) {
		t.Errorf("%d more errors after the first pass: messages were redelivered", n-len(errs))
	}
}

// TestReEmitIsRefusedAsDuplicate: re-emitting a stored event with its ID
// makes the stream report a duplicate on the first attempt, which Emit
// returns as ErrDuplicate; B handles the event once.
func TestReEmitIsRefusedAsDuplicate(t *testing.T) {
	s := startServer(t, t.TempDir(), -1)
	a := newNode(t, s.ClientURL(), "a", `^order\.`, "")
	b := newNode(t, s.ClientURL(), "b", "", ".*")
	got := collect(t, b.bus, "orders", `^order\.`)

	e, err := a.bus.Emit(context.Background(), "order.created", Order{ID: "A-1"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.bus.Emit(context.Background(), "order.created", Order{ID: "A-1"}, bus.WithID(e.ID), bus.WithTxID(e.TxID))
	if !errors.Is(err, natsbus.ErrDuplicate) || !strings.Contains(err.Error(), e.ID) {
		t.Errorf("re-emit err = %v; want ErrDuplicate naming %s", err, e.ID)
	}
	if _, err := a.bus.Emit(context.Background(), "order.created", Order{ID: "A-2"}); err != nil {
		t.Fatal(err)
	}
	got.await(t, 2)
	settle(t, b.nc, "b")
	if calls, distinct := got.counts(); calls != 2 || distinct != 2 {
		t.Errorf("B handled %d events (%d distinct); want 2", calls, distinct)
	}
	if st := a.bridge.Stats(); st.Published != 2 {
		t.Errorf("A Stats() = %+v; want 2 published", st)
	}
}

// TestTopicsThatAreNotSubjects: New refuses a registered topic that it
// would publish and that cannot be a subject; one registered later is
// refused at its first Emit.
func TestTopicsThatAreNotSubjects(t *testing.T) {
	s := startServer(t, t.TempDir(), -1)
	tests := []struct{ topic, wantErr string }{
		{"bad.*.topic", `natsbus: topic is not a valid NATS subject: "bad.*.topic" has the wildcard token "*"`},
		{"bad.>", `natsbus: topic is not a valid NATS subject: "bad.>" has the wildcard token ">"`},
		{"bad..topic", `natsbus: topic is not a valid NATS subject: "bad..topic" has an empty token`},
		{"service added", `natsbus: topic is not a valid NATS subject: "service added" contains whitespace`},
	}
	for _, tt := range tests {
		t.Run("New/"+tt.topic, func(t *testing.T) {
			b := newBus(t, 1, "order.created", tt.topic)
			_, err := natsbus.New(context.Background(), b, connect(t, s.ClientURL()), natsbus.Config{Node: "a", Publish: "*", Provision: &natsbus.StreamSettings{}})
			want := fmt.Sprintf(`natsbus: topic %q, which Publish "*" matches: %s`, tt.topic, tt.wantErr)
			if !errors.Is(err, natsbus.ErrSubject) || err.Error() != want {
				t.Errorf("New() error = %v; want %s", err, want)
			}
		})
	}

	// Not published: no error.
	b := newBus(t, 1, "service added")
	br, err := natsbus.New(context.Background(), b, connect(t, s.ClientURL()), natsbus.Config{Node: "b", Publish: "^order", Provision: &natsbus.StreamSettings{}})
	if err != nil {
		t.Fatalf("New with a topic that is not published: %v", err)
	}
	br.Close(context.Background())

	a := newNode(t, s.ClientURL(), "a", `*`, "")
	for _, tt := range tests {
		a.bus.RegisterTopics(tt.topic)
		_, err := a.bus.Emit(context.Background(), tt.topic, 1)
		if !errors.Is(err, natsbus.ErrSubject) || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("Emit(%q) error = %v; want ErrSubject: %s", tt.topic, err, tt.wantErr)
		}
	}
	if st := a.bridge.Stats(); st.Published != 0 {
		t.Errorf("Stats() = %+v; want nothing published", st)
	}
}

func TestAuthenticatedConnection(t *testing.T) {
	s := startServer(t, t.TempDir(), -1, func(o *server.Options) {
		o.Username, o.Password = "bus", "s3cret"
	})
	if nc, err := nats.Connect(s.ClientURL()); err == nil {
		nc.Close()
		t.Fatal("connected without credentials")
	}
	creds := nats.UserInfo("bus", "s3cret")
	a := newNode(t, s.ClientURL(), "a", `^order\.`, "", creds)
	b := newNode(t, s.ClientURL(), "b", "", ".*", creds)
	got := collect(t, b.bus, "orders", `^order\.`)
	if _, err := a.bus.Emit(context.Background(), "order.created", Order{ID: "A-1"}); err != nil {
		t.Fatal(err)
	}
	got.await(t, 1)
}

type ctxKeyTrace struct{}

// TestHeaderHooks carries a value from the emitting context on one node to
// the handlers' context on the other, through the message headers.
func TestHeaderHooks(t *testing.T) {
	s := startServer(t, t.TempDir(), -1)
	a := newNodeWith(t, s.ClientURL(), "a", `^order\.`, "", func(c *natsbus.Config) {
		c.InjectHeader = func(ctx context.Context, h map[string][]string) {
			if v, ok := ctx.Value(ctxKeyTrace{}).(string); ok {
				h["Trace"] = []string{v}
			}
		}
	})
	b := newNodeWith(t, s.ClientURL(), "b", "", `^order\.`, func(c *natsbus.Config) {
		c.ExtractHeader = func(ctx context.Context, h map[string][]string) context.Context {
			if v := h["Trace"]; len(v) == 1 {
				return context.WithValue(ctx, ctxKeyTrace{}, v[0])
			}
			return ctx
		}
	})
	traces := make(chan any, 1)
	if err := b.bus.RegisterHandler("trace", &bus.Handler{Matcher: "order", Handle: func(e *bus.Event) {
		traces <- e.Context().Value(ctxKeyTrace{})
	}}); err != nil {
		t.Fatal(err)
	}
	ctx := context.WithValue(context.Background(), ctxKeyTrace{}, "trace-1")
	if _, err := a.bus.Emit(ctx, "order.created", Order{ID: "A-1"}); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-traces:
		if got != "trace-1" {
			t.Errorf("handler on B sees %v; want trace-1", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("B received nothing")
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	s := startServer(t, t.TempDir(), -1)
	nc := connect(t, s.ClientURL())
	b, _ := bus.NewBus(bus.Next(func() string { return "id" }))
	tests := []natsbus.Config{
		{Node: ""},
		{Node: "a.b"},
		{Node: "a", Prefix: "x.y"},
		{Node: "a", Publish: "("},
		{Node: "a", Receive: "["},
	}
	for _, cfg := range tests {
		if br, err := natsbus.New(context.Background(), b, nc, cfg); err == nil {
			br.Close(context.Background())
			t.Errorf("New(%+v) error = nil; want an error", cfg)
		}
	}
}

// TestUnansweredPublishIsRetriedWithinPublishTimeout: a publish whose
// acknowledgement never comes (a request lost with a server that died
// after storing it, say) is retried after ackTimeout, not abandoned once
// the whole PublishTimeout has gone: in confirm mode when the caller's
// context has a later deadline, in pipelined mode when the retry of an
// expired publish is not answered either (seed 6 of the fault suite).
func TestUnansweredPublishIsRetriedWithinPublishTimeout(t *testing.T) {
	for _, tt := range []struct {
		name        string
		maxInFlight int
		unanswered  int // requests the subscriber takes
	}{{"confirm", 0, 1}, {"pipelined", 8, 2}} {
		t.Run(tt.name, func(t *testing.T) {
			s := startServer(t, t.TempDir(), -1)
			a := newNodeWith(t, s.ClientURL(), "a", `^order\.`, "", func(c *natsbus.Config) {
				c.PublishTimeout, c.MaxInFlight = 15*time.Second, tt.maxInFlight
			})

			// The stream stops capturing the topic's subject, and a subscriber
			// that never answers takes the first requests; then the stream
			// captures the subject again and the subscriber leaves.
			admin := connect(t, s.ClientURL())
			js, _ := jetstream.New(admin)
			capture := func(subjects ...string) {
				st, err := js.Stream(context.Background(), "BUS")
				if err != nil {
					t.Error(err)
					return
				}
				cfg := st.CachedInfo().Config
				cfg.Subjects = subjects
				if _, err := js.UpdateStream(context.Background(), cfg); err != nil {
					t.Error(err)
				}
			}
			capture("bus.invoice.>")
			taken := make(chan struct{}, tt.unanswered)
			sub, err := admin.Subscribe("bus.order.created", func(*nats.Msg) {
				select {
				case taken <- struct{}{}:
				default:
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			admin.Flush()
			restored := make(chan struct{})
			go func() {
				defer close(restored)
				for range tt.unanswered {
					<-taken
				}
				capture("bus.>")
				sub.Unsubscribe()
			}()

			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			if _, err := a.bus.Emit(ctx, "order.created", Order{ID: "A-1"}); err != nil {
				t.Fatalf("Emit = %v; want nil", err)
			}
			if err := a.bridge.Flush(ctx); err != nil {
				t.Fatalf("Flush = %v; want nil: a later attempt was stored", err)
			}
			<-restored
			st, err := js.Stream(context.Background(), "BUS")
			if err != nil {
				t.Fatal(err)
			}
			if n := st.CachedInfo().State.Msgs; n != 1 {
				t.Errorf("stream holds %d messages; want 1", n)
			}
		})
	}
}

// TestEmitGivesUpWithErrTimeout: a confirm-mode Emit the stream does not
// confirm fails with ErrTimeout at PublishTimeout, not with the caller's
// context error, which it wraps only when that context ended.
func TestEmitGivesUpWithErrTimeout(t *testing.T) {
	s := startServer(t, t.TempDir(), -1)
	a := newNodeWith(t, s.ClientURL(), "a", `^order\.`, "", func(c *natsbus.Config) { c.PublishTimeout = 3 * time.Second })
	s.Shutdown()
	s.WaitForShutdown()

	tests := []struct {
		name    string
		timeout time.Duration // of the caller's context; 0 for none
		want    error
		notWant error
	}{
		{"PublishTimeout", 0, natsbus.ErrTimeout, context.DeadlineExceeded},
		{"caller's deadline", time.Second, context.DeadlineExceeded, natsbus.ErrTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			_, err := a.bus.Emit(ctx, "order.created", Order{ID: "A-1"})
			if !errors.Is(err, tt.want) || errors.Is(err, tt.notWant) {
				t.Errorf("Emit = %v; want an error wrapping %v and not %v", err, tt.want, tt.notWant)
			}
		})
	}
}

// TestFailingHandlerIsAcknowledgedAndReported: a received event whose
// handler fails counts as handled: it reaches the other handlers once, is
// acknowledged rather than redelivered, and the failure goes to OnError.
func TestFailingHandlerIsAcknowledgedAndReported(t *testing.T) {
	s := startServer(t, t.TempDir(), -1)
	a := newNode(t, s.ClientURL(), "a", `^order\.`, "")
	failing := errors.New("mail server down")
	var calls atomic.Int64
	b := startNode(t, s.ClientURL(), "b", "", `^order\.`, func(bb *bus.Bus) {
		bb.RegisterHandler("mailer", &bus.Handler{Matcher: `^order\.`, HandleErr: func(*bus.Event) error { return failing }})
		bb.RegisterHandler("panicker", &bus.Handler{Matcher: `^order\.`, Handle: func(*bus.Event) { panic("boom") }})
		bb.RegisterHandler("ledger", &bus.Handler{Matcher: `^order\.`, Handle: func(*bus.Event) { calls.Add(1) }})
	}, nil)

	if _, err := a.bus.Emit(context.Background(), "order.created", Order{ID: "A-1"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the event acknowledged", func() bool {
		info := consumerInfo(t, a.nc, "b")
		return info.Delivered.Stream == 1 && info.NumAckPending == 0 && info.NumPending == 0
	})
	if n := calls.Load(); n != 1 {
		t.Errorf("the other handler ran %d times; want once", n)
	}
	if st := b.bridge.Stats(); st.Received != 1 || st.Duplicates != 0 {
		t.Errorf("Stats() = %+v; want 1 received, no duplicates", st)
	}
	errs := b.errors()
	if len(errs) != 1 || !errors.Is(errs[0], failing) || !strings.Contains(errs[0].Error(), `"panicker" panicked: boom`) {
		t.Errorf("OnError got %v; want one report naming both failures", errs)
	}
}

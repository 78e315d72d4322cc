package bustest_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobus/bus"
	"github.com/gobus/bus/bustest"
)

func newBus(t *testing.T, topics ...string) *bus.Bus {
	t.Helper()
	b, err := bus.NewBus(bus.Next(func() string { return "id" }))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.RegisterTopics(topics...); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRecordFiltersByMatcher(t *testing.T) {
	b := newBus(t, "order.created", "order.paid", "user.created")
	tests := []struct {
		matcher string
		want    []string
	}{
		{"", []string{"order.created", "order.paid", "user.created"}},
		{"*", []string{"order.created", "order.paid", "user.created"}},
		{`^order\.`, []string{"order.created", "order.paid"}},
		{`^user\.created$`, []string{"user.created"}},
	}
	recs := make([]*bustest.Recorder, len(tests))
	for i, tt := range tests {
		recs[i] = bustest.Record(t, b, tt.matcher)
	}
	for _, topic := range []string{"order.created", "order.paid", "user.created"} {
		if _, err := b.Emit(context.Background(), topic, topic+" data"); err != nil {
			t.Fatal(err)
		}
	}
	for i, tt := range tests {
		var got []string
		for _, e := range recs[i].Events() {
			got = append(got, e.Topic)
			if e.Data != e.Topic+" data" {
				t.Errorf("matcher %q: event on %s carries %v", tt.matcher, e.Topic, e.Data)
			}
		}
		if strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("matcher %q recorded %q; want %q", tt.matcher, got, tt.want)
		}
	}
}

func TestWaitForEventsFromOtherGoroutines(t *testing.T) {
	b := newBus(t, "tick")
	rec := bustest.Record(t, b, "tick")
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(i%5) * time.Millisecond)
			b.Emit(context.Background(), "tick", i)
		}()
	}
	if got := rec.Wait(50, 10*time.Second); len(got) != 50 {
		t.Errorf("Wait(50) returned %d events", len(got))
	}
	wg.Wait()
	if got := rec.Wait(10, time.Millisecond); len(got) != 10 {
		t.Errorf("Wait(10) after 50 arrived returned %d events; want the first 10", len(got))
	}
}

// fakeT records what a failing Wait reports, instead of failing this test.
type fakeT struct {
	testing.TB
	failure string
}

func (f *fakeT) Helper()      {}
func (f *fakeT) Name() string { return "fake" }
func (f *fakeT) Cleanup(fn func()) {
	f.TB.Cleanup(fn)
}
func (f *fakeT) Fatalf(format string, args ...any) {
	f.failure = strings.TrimSpace(strings.ReplaceAll(fmt.Sprintf(format, args...), "\t", ""))
}

func TestWaitTimesOutListingWhatArrived(t *testing.T) {
	tests := []struct {
		name    string
		matcher string
		emit    bool
		want    string
	}{
		{"some arrived", "", true, `bustest: 1 of 2 events matching "" after 20ms; these arrived:` + "\norder.created id (tx id): A-1"},
		{"none arrived", "order", false, `bustest: 0 of 2 events matching "order" after 20ms; none arrived`},
		{"no topic matches", "invoice", false, `bustest: 0 of 2 events matching "invoice" after 20ms; the matcher matches none of the registered topics ["order.created"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBus(t, "order.created")
			ft := &fakeT{TB: t}
			rec := bustest.Record(ft, b, tt.matcher)
			if tt.emit {
				b.Emit(context.Background(), "order.created", "A-1")
			}
			if got := rec.Wait(2, 20*time.Millisecond); got != nil {
				t.Errorf("Wait(2) = %v; want nil", got)
			}
			if ft.failure != tt.want {
				t.Errorf("failure = %q; want %q", ft.failure, tt.want)
			}
		})
	}
}

func TestRecorderIsDeregisteredWhenTheTestEnds(t *testing.T) {
	b := newBus(t, "t")
	t.Run("inner", func(t *testing.T) {
		bustest.Record(t, b, "")
		if keys := b.HandlerKeys(); len(keys) != 1 {
			t.Fatalf("HandlerKeys() = %q during the test; want the recorder", keys)
		}
	})
	if keys := b.HandlerKeys(); len(keys) != 0 {
		t.Errorf("HandlerKeys() = %q after the test; want none", keys)
	}
}

func TestRecordFailsOnABadMatcher(t *testing.T) {
	ft := &fakeT{TB: t}
	bustest.Record(ft, newBus(t), "(")
	if !strings.Contains(ft.failure, "bustest.Record: bus: invalid handler") {
		t.Errorf("failure = %q; want the invalid handler error", ft.failure)
	}
}

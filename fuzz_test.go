package bus_test

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"testing"

	"github.com/gobus/bus"
)

// FuzzRegisterAndEmit feeds arbitrary topic names, matchers and keys through
// registration and Emit. Nothing may panic, bad input must be refused with
// the right sentinel, and a handler must receive an event exactly when its
// matcher matches the topic, as regexp.MatchString decides.
func FuzzRegisterAndEmit(f *testing.F) {
	f.Add("order.created", "^order", "orders")
	f.Add("order.created", ".*", "all")
	f.Add("a b", "(", "")
	f.Add("reorder", "order", "k")
	f.Add("ü.topic", `\p{L}`, "unicode")
	f.Add("x", "", "empty-matcher")
	f.Add("service added", "*", "every")
	f.Fuzz(func(t *testing.T, topic, matcher, key string) {
		b, err := bus.NewBus(bus.Next(func() string { return "id" }))
		if err != nil {
			t.Fatal(err)
		}
		calls := 0
		regErr := b.RegisterHandler(key, &bus.Handler{Matcher: matcher, Handle: func(*bus.Event) { calls++ }})
		pattern := matcher
		if pattern == "*" { // the bus reads a lone * as "every topic"
			pattern = ".*"
		}
		re, reErr := regexp.Compile(pattern)
		if wantErr := key == "" || reErr != nil; (regErr != nil) != wantErr || (regErr != nil && !errors.Is(regErr, bus.ErrInvalidHandler)) {
			t.Fatalf("RegisterHandler(%q, %q) = %v", key, matcher, regErr)
		}
		topicErr := b.RegisterTopics(topic)
		if topicErr != nil && !errors.Is(topicErr, bus.ErrInvalidTopic) {
			t.Fatalf("RegisterTopics(%q) = %v; want nil or ErrInvalidTopic", topic, topicErr)
		}

		e, err := b.Emit(context.Background(), topic, nil)
		if topicErr != nil {
			if e != nil || !errors.Is(err, bus.ErrTopicNotFound) {
				t.Fatalf("Emit on refused topic %q = %v, %v; want ErrTopicNotFound", topic, e, err)
			}
			return
		}
		if err != nil || e == nil {
			t.Fatalf("Emit(%q) = %v, %v", topic, e, err)
		}
		want := 0
		if regErr == nil && re.MatchString(topic) {
			want = 1
		}
		if calls != want {
			t.Fatalf("matcher %q, topic %q: %d deliveries; want %d", matcher, topic, calls, want)
		}
		if got := slices.Contains(b.HandlerTopicSubscriptions(key), topic); got != (want == 1) {
			t.Fatalf("HandlerTopicSubscriptions(%q) contains %q = %v; want %v", key, topic, got, want == 1)
		}

		b.DeregisterHandler(key)
		b.Emit(context.Background(), topic, nil)
		if calls != want {
			t.Fatalf("delivered after DeregisterHandler(%q)", key)
		}
		b.DeregisterTopics(topic)
		if got := b.Topics(); len(got) != 0 {
			t.Fatalf("Topics() = %q after deregistering; want none", got)
		}
	})
}

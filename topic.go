package bus

import (
	"cmp"
	"fmt"
	"iter"
	"reflect"
	"slices"
	"sync/atomic"
	"unicode"
	"unicode/utf8"
)

// topicEntry is a registered topic with the list of subscribers Emit
// delivers to. The list is never modified once published: writers build a
// new one and swap it in, so Emit reads it without a lock.
type topicEntry struct {
	name string
	subs atomic.Pointer[[]subscriber]
	data atomic.Pointer[reflect.Type] // set once by NewTopic; nil if untyped
}

// lookup returns the registered topic called name, or nil.
func (b *Bus) lookup(name string) *topicEntry {
	if t := b.topics.Load(); t != nil {
		return t.lookup(name)
	}
	return nil
}

// registeredTopics yields every registered topic. b.mu must be held.
func (b *Bus) registeredTopics() iter.Seq[*topicEntry] {
	if t := b.topics.Load(); t != nil {
		return t.all()
	}
	return func(func(*topicEntry) bool) {}
}

// replace publishes a new subscriber list without old and with add inserted
// at its place in delivery order. Either may be nil. b.mu must be held.
func (t *topicEntry) replace(old, add *registration) {
	cur := *t.subs.Load()
	subscribed := old != nil && slices.ContainsFunc(cur, func(s subscriber) bool { return s.reg == old })
	if !subscribed && add == nil {
		return // nothing changes: keep the published list
	}
	next := make([]subscriber, 0, len(cur)+1)
	for _, s := range cur {
		if s.reg != old {
			next = append(next, s)
		}
	}
	if add != nil {
		at, _ := slices.BinarySearchFunc(next, add.seq, func(s subscriber, seq uint64) int {
			return cmp.Compare(s.reg.seq, seq)
		})
		next = slices.Insert(next, at, add.subscriber())
	}
	t.subs.Store(&next)
}

// RegisterTopics registers the named topics, subscribing to each the
// registered handlers whose matchers match it. Registering a topic that is
// already registered does nothing.
//
// All names are checked first: if any is invalid, none is registered and
// the error, which wraps [ErrInvalidTopic], names it.
func (b *Bus) RegisterTopics(topics ...string) error {
	for _, name := range topics {
		if err := validateTopic(name); err != nil {
			return err
		}
	}

	b.mu.Lock()
	defer b.mu.Unlock()
	for _, name := range topics {
		b.registerTopic(name)
	}
	return nil
}

// registerTopic registers the valid topic name, unless it is registered,
// and returns it. b.mu must be held.
func (b *Bus) registerTopic(name string) *topicEntry {
	if b.topics.Load() == nil {
		b.topics.Store(newTable(minTableSize))
	}
	if t := b.lookup(name); t != nil {
		return t
	}
	t := &topicEntry{name: name}
	regs := b.sortedRegistrations(func(r *registration) bool { return r.matches(name) })
	subs := make([]subscriber, len(regs))
	for i, r := range regs {
		subs[i] = r.subscriber()
	}
	t.subs.Store(&subs)
	b.topics.Store(b.topics.Load().insert(t))
	return t
}

// validateTopic refuses names that cannot be told apart or printed
// faithfully in logs and errors. Inner spaces are allowed, since service
// meshes name lifecycle events like "service added"; leading and trailing
// ones are not, as "order " and "order" would look alike.
func validateTopic(name string) error {
	if name == "" {
		return fmt.Errorf("%w: empty name", ErrInvalidTopic)
	}
	if !utf8.ValidString(name) {
		return fmt.Errorf("%w %q: invalid UTF-8", ErrInvalidTopic, name)
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return fmt.Errorf("%w %q: contains control character %U", ErrInvalidTopic, name, r)
		}
	}
	first, _ := utf8.DecodeRuneInString(name)
	last, _ := utf8.DecodeLastRuneInString(name)
	if unicode.IsSpace(first) || unicode.IsSpace(last) {
		return fmt.Errorf("%w %q: leading or trailing whitespace", ErrInvalidTopic, name)
	}
	return nil
}

// DeregisterTopics removes the named topics; emitting on them fails from
// then on with [ErrTopicNotFound]. Emits already delivering on them finish.
// Unknown names are ignored.
func (b *Bus) DeregisterTopics(topics ...string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if t := b.topics.Load(); t != nil {
		for _, name := range topics {
			t.remove(name)
		}
	}
}

// Topics returns the names of the registered topics in sorted order.
func (b *Bus) Topics() []string {
	names := []string{}
	b.mu.Lock()
	for t := range b.registeredTopics() {
		names = append(names, t.name)
	}
	b.mu.Unlock()
	slices.Sort(names)
	return names
}

// DataType returns the type of the data a typed topic's events carry: the
// T of the [NewTopic] that made it. It returns nil for a topic registered
// only with [Bus.RegisterTopics] and for an unknown topic. Integrations that
// carry events across processes use it to decode received data into the
// type the topic's handlers take.
func (b *Bus) DataType(topic string) reflect.Type {
	if t := b.lookup(topic); t != nil {
		if data := t.data.Load(); data != nil {
			return *data
		}
	}
	return nil
}

// TopicHandlers returns the handlers subscribed to topic, in delivery order:
// the *Handler values they were registered with. It returns an empty slice
// for an unknown topic.
func (b *Bus) TopicHandlers(topic string) []*Handler {
	t := b.lookup(topic)
	if t == nil {
		return []*Handler{}
	}
	subs := *t.subs.Load()
	hs := make([]*Handler, len(subs))
	for i, s := range subs {
		hs[i] = s.reg.handler
	}
	return hs
}

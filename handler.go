package bus

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Handler receives the events of every topic its Matcher matches. Set
// exactly one of Handle and HandleErr.
//
// The bus reads the fields once, when the handler is registered; changing
// them afterwards has no effect until it is registered again.
type Handler struct {
	// Handle is called with each matching event. It runs on the emitting
	// goroutine and may itself call any method of the bus.
	Handle func(e *Event)
	// HandleErr is Handle for a handler that can fail. It is called the
	// same way; a non-nil error fails the event: the other handlers still
	// run, and Emit returns the event with a [*HandlerError] that names
	// the handler's key and unwraps to the error.
	HandleErr func(e *Event) error
	// Matcher is a regular expression in the syntax of package regexp. A
	// topic matches if the expression matches any part of its name, as with
	// regexp.MatchString: "order" matches "order.created" and "reorder";
	// "^order\." matches only names starting with "order.". ".*", "" and
	// "*" match every topic: a lone "*", not a valid regular expression,
	// is read as ".*", as module kernels use it to subscribe to everything.
	Matcher string
}

// registration is one handler as registered under a key.
type registration struct {
	key       string
	handler   *Handler
	handle    func(*Event)
	handleErr func(*Event) error
	matcher   *regexp.Regexp
	prefix    string // literal every match starts with, if any
	seq       uint64 // position in delivery order: smaller runs first
	topic     string // the typed topic whose Handle registered it, or ""
}

// owner describes who registered r, for errors.
func (r *registration) owner() string {
	if r.topic != "" {
		return fmt.Sprintf("the Handle of topic %q", r.topic)
	}
	return fmt.Sprintf("RegisterHandler (matcher %q)", r.handler.Matcher)
}

// matches reports whether the handler subscribes to the named topic. Topics
// that do not contain the matcher's literal prefix cannot match, and are
// rejected without running the regular expression: most topics, for most
// matchers, so registering stays cheap with thousands of topics.
func (r *registration) matches(topic string) bool {
	if r.prefix != "" && !strings.Contains(topic, r.prefix) {
		return false
	}
	return r.matcher.MatchString(topic)
}

// subscriber is one entry of a topic's delivery list. It holds the funcs
// themselves so that Emit calls them without first dereferencing the
// registration. Exactly one of handle and handleErr is set: keeping both
// kinds, rather than adapting Handle to return nil, saves plain handlers an
// indirect call.
type subscriber struct {
	handle    func(*Event)
	handleErr func(*Event) error
	reg       *registration
}

func (r *registration) subscriber() subscriber {
	return subscriber{handle: r.handle, handleErr: r.handleErr, reg: r}
}

// call calls the handler with e and returns the error it returned, as a
// *HandlerError. Panics are the caller's to recover.
func (s *subscriber) call(e *Event) error {
	if s.handle != nil {
		s.handle(e)
		return nil
	}
	return s.callErr(e)
}

// callErr calls a HandleErr handler.
func (s *subscriber) callErr(e *Event) error {
	if err := s.handleErr(e); err != nil {
		return &HandlerError{Key: s.reg.key, Err: err}
	}
	return nil
}

// RegisterHandler registers h under key, subscribing it to every registered
// topic its matcher matches, now or later.
//
// Registering a key again replaces its handler, which keeps the key's place
// in the delivery order: an event is never delivered to both. On error,
// nothing is registered and an existing registration under key is left as it
// was; the error wraps [ErrInvalidHandler].
func (b *Bus) RegisterHandler(key string, h *Handler) error {
	return b.register(key, h, "")
}

// register registers h under key for [Bus.RegisterHandler] (topic "") or
// for the Handle of the typed topic so named. A topic's Handle replaces
// only a handler it registered itself: the key is a bus-wide name, and
// taking it from another registration would unsubscribe that one silently.
func (b *Bus) register(key string, h *Handler, topic string) error {
	if key == "" {
		return fmt.Errorf("%w: empty key", ErrInvalidHandler)
	}
	if h == nil {
		return fmt.Errorf("%w %q: nil *Handler", ErrInvalidHandler, key)
	}
	if (h.Handle == nil) == (h.HandleErr == nil) {
		return fmt.Errorf("%w %q: set exactly one of Handle and HandleErr", ErrInvalidHandler, key)
	}
	re, err := compileMatcher(h.Matcher)
	if err != nil {
		return fmt.Errorf("%w %q: matcher: %w", ErrInvalidHandler, key, err)
	}

	r := &registration{key: key, handler: h, handle: h.Handle, handleErr: h.HandleErr, matcher: re, topic: topic}
	r.prefix, _ = re.LiteralPrefix()

	b.mu.Lock()
	defer b.mu.Unlock()
	if b.handlers == nil {
		b.handlers = make(map[string]*registration)
	}
	old := b.handlers[key]
	if old != nil && topic != "" && old.topic != topic {
		return fmt.Errorf("%w %q: Handle on topic %q: the key is taken by %s; choose another key", ErrInvalidHandler, key, topic, old.owner())
	}
	if old != nil {
		r.seq = old.seq
	} else {
		b.lastSeq++
		r.seq = b.lastSeq
	}
	b.handlers[key] = r
	for t := range b.registeredTopics() {
		if r.matches(t.name) {
			t.replace(old, r)
		} else {
			t.replace(old, nil)
		}
	}
	return nil
}

// compileMatcher compiles a Handler's Matcher.
func compileMatcher(m string) (*regexp.Regexp, error) {
	if m == "*" {
		m = ".*"
	}
	return regexp.Compile(m)
}

// DeregisterHandler removes the handler registered under key from every
// topic. Emits already delivering may still call it; later ones do not.
// Deregistering an unknown key does nothing.
func (b *Bus) DeregisterHandler(key string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	old := b.handlers[key]
	if old == nil {
		return
	}
	delete(b.handlers, key)
	for t := range b.registeredTopics() {
		t.replace(old, nil)
	}
}

// Handler returns the *Handler registered under key, as it was given to
// RegisterHandler, or nil if there is none.
func (b *Bus) Handler(key string) *Handler {
	b.mu.Lock()
	defer b.mu.Unlock()
	if r := b.handlers[key]; r != nil {
		return r.handler
	}
	return nil
}

// HandlerKeys returns the keys of the registered handlers in delivery order.
func (b *Bus) HandlerKeys() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	regs := b.sortedRegistrations(func(*registration) bool { return true })
	keys := make([]string, len(regs))
	for i, r := range regs {
		keys[i] = r.key
	}
	return keys
}

// HandlerTopicSubscriptions returns, in sorted order, the registered topics
// whose events the handler registered under key receives. It returns an empty
// slice for an unknown key.
func (b *Bus) HandlerTopicSubscriptions(key string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	r := b.handlers[key]
	if r == nil {
		return []string{}
	}
	topics := []string{}
	for t := range b.registeredTopics() {
		if r.matches(t.name) {
			topics = append(topics, t.name)
		}
	}
	slices.Sort(topics)
	return topics
}

// sortedRegistrations returns the registrations that keep reports true, in
// delivery order. b.mu must be held.
func (b *Bus) sortedRegistrations(keep func(*registration) bool) []*registration {
	var regs []*registration
	for _, r := range b.handlers {
		if keep(r) {
			regs = append(regs, r)
		}
	}
	slices.SortFunc(regs, func(x, y *registration) int { return cmp.Compare(x.seq, y.seq) })
	return regs
}

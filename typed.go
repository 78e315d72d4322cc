package bus

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"regexp"
)

// ErrDataType is returned, wrapped, when a typed handler, made with [Typed]
// or subscribed through a [Topic], receives an event whose Data is not of
// the handler's type, and by [NewTopic] for a topic made with another type.
var ErrDataType = errors.New("bus: wrong data type")

// Topic is a registered topic whose events carry data of type T. Emitting
// through it accepts only a T, and handlers subscribed through it receive
// the data as a T, so a mismatch does not compile.
//
// A Topic is an ordinary topic of its Bus: handlers registered with
// [Bus.RegisterHandler] whose matchers match its name receive its events,
// whose Data is the T; [Bus.Emit] can emit on it too, with data of any type,
// which is why typed handlers still check the type they receive.
//
// Create a Topic with [NewTopic]. Its methods are safe for concurrent use.
type Topic[T any] struct {
	bus     *Bus
	name    string
	matcher string // matches name and nothing else
}

// NewTopic registers the topic called name on b, as [Bus.RegisterTopics]
// does, and returns it typed: its events carry a T. Calling it again for
// the same name and T returns an equivalent Topic; for a topic made with
// another data type it fails with an error wrapping [ErrDataType] that
// names both types. [Bus.DataType] reports the T.
func NewTopic[T any](b *Bus, name string) (*Topic[T], error) {
	if b == nil {
		return nil, errors.New("bus: NewTopic with a nil *Bus")
	}
	if err := validateTopic(name); err != nil {
		return nil, err
	}
	want := reflect.TypeFor[T]()
	b.mu.Lock()
	t := b.registerTopic(name)
	switch have := t.data.Load(); {
	case have == nil:
		t.data.Store(&want)
	case *have != want:
		b.mu.Unlock()
		return nil, fmt.Errorf("%w: NewTopic[%v] on topic %q, made by NewTopic[%v]", ErrDataType, want, name, *have)
	}
	b.mu.Unlock()
	return &Topic[T]{bus: b, name: name, matcher: "^" + regexp.QuoteMeta(name) + "$"}, nil
}

// Name returns the topic's name.
func (t *Topic[T]) Name() string { return t.name }

// Emit emits data on the topic, exactly as [Bus.Emit] does.
func (t *Topic[T]) Emit(ctx context.Context, data T, opts ...EmitOption) (*Event, error) {
	return t.bus.Emit(ctx, t.name, data, opts...)
}

// Handle registers handle under key for the events of this topic alone, as
// [Bus.RegisterHandler] does. Keys are the bus's: calling Handle again with
// the same key on this topic replaces its handler, but a key registered
// otherwise (by another topic's Handle, or with [Bus.RegisterHandler]) is
// refused with an error wrapping [ErrInvalidHandler] that names both, since
// taking it would unsubscribe the other silently. An event whose Data is
// not a T (emitted with [Bus.Emit]) does not reach handle, and fails with
// an error wrapping [ErrDataType].
func (t *Topic[T]) Handle(key string, handle func(e *Event, data T)) error {
	if handle == nil {
		return fmt.Errorf("%w %q: nil handle func", ErrInvalidHandler, key)
	}
	return t.HandleErr(key, func(e *Event, data T) error {
		handle(e, data)
		return nil
	})
}

// HandleErr is Handle for a handler that can fail: a returned error fails
// the event as one returned by a [Handler]'s HandleErr does.
func (t *Topic[T]) HandleErr(key string, handle func(e *Event, data T) error) error {
	if handle == nil {
		return fmt.Errorf("%w %q: nil handle func", ErrInvalidHandler, key)
	}
	check := dataOf[T]()
	return t.bus.register(key, &Handler{Matcher: t.matcher, HandleErr: func(e *Event) error {
		data, err := check(e)
		if err != nil {
			return err
		}
		return handle(e, data)
	}}, t.name)
}

// Typed adapts handle, which takes the event's data as a T, to a
// HandleErr func. When an event's Data is not a T, handle is not called
// and the emitter learns of it: Emit returns a [*HandlerError] for the
// handler's key that wraps [ErrDataType] and names both types. Nil Data is
// passed as the zero T if T is an interface, pointer, map, slice, channel
// or func type, and refused otherwise. [NewAsync] takes it too: a mismatch
// then goes to the Async's OnError.
//
// [Topic.Handle] does the same for the handlers of one topic.
func Typed[T any](handle func(e *Event, data T)) func(*Event) error {
	check := dataOf[T]()
	return func(e *Event) error {
		data, err := check(e)
		if err != nil {
			return err
		}
		handle(e, data)
		return nil
	}
}

// dataOf returns a func that gives an event's Data as a T, or an error
// wrapping ErrDataType that names both types.
func dataOf[T any]() func(*Event) (T, error) {
	want := reflect.TypeFor[T]()
	nilable := false
	switch want.Kind() {
	case reflect.Interface, reflect.Pointer, reflect.Map, reflect.Slice, reflect.Chan, reflect.Func:
		nilable = true
	}
	return func(e *Event) (T, error) {
		data, ok := e.Data.(T)
		if !ok && !(e.Data == nil && nilable) {
			return data, fmt.Errorf("%w: handler takes %v, event %s on %s carries %T", ErrDataType, want, e.ID, e.Topic, e.Data)
		}
		return data, nil
	}
}

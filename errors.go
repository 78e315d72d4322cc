package bus

import (
	"errors"
	"fmt"
	"runtime/debug"
)

var (
	// ErrTopicNotFound is returned, wrapped, by Emit when the topic is not
	// registered. The wrapping error reads "bus: topic(NAME) not found".
	ErrTopicNotFound = errors.New("bus: topic not found")

	// ErrInvalidTopic is returned, wrapped, by RegisterTopics for an empty
	// topic name, one with leading or trailing whitespace, and one that
	// contains control characters or invalid UTF-8.
	ErrInvalidTopic = errors.New("bus: invalid topic")

	// ErrInvalidHandler is returned, wrapped, by RegisterHandler for an empty
	// key, a nil *Handler, one that sets neither or both of Handle and
	// HandleErr, or a matcher that is not a valid regular expression, and by
	// a [Topic]'s Handle for a key registered otherwise.
	ErrInvalidHandler = errors.New("bus: invalid handler")
)

// topicNotFoundError keeps the message of mustafaturan/bus, which callers may
// match on, while letting errors.Is find ErrTopicNotFound.
type topicNotFoundError struct{ topic string }

func (e *topicNotFoundError) Error() string { return "bus: topic(" + e.topic + ") not found" }
func (e *topicNotFoundError) Unwrap() error { return ErrTopicNotFound }

// PanicError reports a handler that panicked. The bus recovers the panic so
// that the remaining handlers still run and the emitter is not brought down;
// Emit returns the PanicError instead, and an [Async] handler passes it to
// its OnError. A handler that panics with an error fails the event on
// purpose: the PanicError unwraps to that error.
type PanicError struct {
	// Key is the key the panicking handler was registered under.
	Key string
	// Value is the value passed to panic.
	Value any
	// Stack is the goroutine's stack trace at the moment of the panic.
	Stack []byte
}

func newPanicError(key string, v any) *PanicError {
	return &PanicError{Key: key, Value: v, Stack: debug.Stack()}
}

// Error returns "bus: handler KEY panicked: VALUE".
func (e *PanicError) Error() string {
	return fmt.Sprintf("bus: handler %q panicked: %v", e.Key, e.Value)
}

// Unwrap returns the panic value if it is an error, so that errors.Is and
// errors.As see through the panic; otherwise it returns nil.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// HandlerError reports a handler that failed an event by returning an error
// from its HandleErr func. Emit returns it, and an [Async] handler passes it
// to its OnError.
type HandlerError struct {
	// Key is the key the failing handler was registered under.
	Key string
	// Err is the error the handler returned.
	Err error
}

// Error returns "bus: handler KEY failed: ERR".
func (e *HandlerError) Error() string {
	return fmt.Sprintf("bus: handler %q failed: %v", e.Key, e.Err)
}

// Unwrap returns the handler's error, so that errors.Is and errors.As see
// through it.
func (e *HandlerError) Unwrap() error { return e.Err }

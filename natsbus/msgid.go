package natsbus

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"hash"
	"sync"
)

// msgIDs makes and recognises the JetStream message IDs of one bridge: an
// event's ID and a MAC of it under a secret that only this bridge holds.
// The stream drops a message whose ID it holds already, so an ID that
// others could predict would let any client allowed to publish on the
// stream suppress this node's events by storing their IDs first. The MAC
// also tells this node's own messages from others without trusting the
// ce-source header.
//
// The publishers and the receiver share it, which is why it is the
// Bridge's and neither's.
type msgIDs struct {
	secret []byte
	macs   sync.Pool // of *macer, HMACs under secret, which cost allocations to make
}

// macer is a pooled HMAC under the secret, with room for the event ID it
// is given, so that computing a MAC does not allocate.
type macer struct {
	h   hash.Hash
	buf [128]byte
}

func newMsgIDs() *msgIDs {
	s := &msgIDs{secret: make([]byte, 32)}
	rand.Read(s.secret) // never fails: see crypto/rand.Read
	return s
}

// append appends to b the message ID of the event called id.
func (s *msgIDs) append(b []byte, id string) []byte {
	m, _ := s.macs.Get().(*macer)
	if m == nil {
		m = &macer{h: hmac.New(sha256.New, s.secret)}
	}
	m.h.Reset()
	for rest := id; rest != ""; {
		n := copy(m.buf[:], rest)
		m.h.Write(m.buf[:n])
		rest = rest[n:]
	}
	sum := m.h.Sum(m.buf[:0])
	b = append(b, id...)
	b = append(b, '.')
	b = base64.RawURLEncoding.AppendEncode(b, sum[:12]) // 96 bits
	s.macs.Put(m)
	return b
}

// own reports whether a message carrying msgID and event id was published
// under this secret.
func (s *msgIDs) own(msgID, id string) bool {
	var buf [128]byte
	return hmac.Equal([]byte(msgID), s.append(buf[:0], id))
}

package audit

import (
	"testing"
	"time"

	"github.com/google/uuid"
)

func chainOf(n int, chain int16) []Link {
	var out []Link
	prev := Genesis
	fac := uuid.New()
	for i := 1; i <= n; i++ {
		e := Event{FacilityID: fac, Chain: chain, Seq: int64(i), ID: uuid.New(), OccurredAt: time.Now(),
			Action: "resident.read", ResourceType: "resident", Outcome: Success, ResidentIDs: []uuid.UUID{uuid.New()}}
		h := Hash(prev, e)
		out = append(out, Link{Event: e, PrevHash: prev, Hash: h})
		prev = h
	}
	return out
}

func verify(links []Link, heads map[int16]Head) Report {
	v := NewVerifier(uuid.New())
	for _, l := range links {
		if !v.Check(l) {
			break
		}
	}
	return v.Finish(heads)
}

func headsOf(chains ...[]Link) map[int16]Head {
	h := map[int16]Head{}
	for _, c := range chains {
		last := c[len(c)-1]
		h[last.Chain] = Head{LastSeq: last.Seq, LastHash: last.Hash}
	}
	return h
}

func TestVerifier(t *testing.T) {
	t.Parallel()
	a, b := chainOf(5, 0), chainOf(3, 4)
	heads := headsOf(a, b)
	all := append(append([]Link{}, a...), b...)
	if r := verify(all, heads); !r.OK || r.Events != 8 || r.Chains != 2 {
		t.Fatalf("intact: %+v", r)
	}

	altered := append([]Link{}, all...)
	altered[2].Outcome = Denied
	if r := verify(altered, heads); r.OK || *r.BrokenChain != 0 || r.BrokenSeq != 3 || *r.BrokenID != altered[2].ID {
		t.Fatalf("altered content: %+v", r)
	}

	missing := append(append([]Link{}, all[:1]...), all[2:]...)
	if r := verify(missing, heads); r.OK || r.BrokenSeq != 3 {
		t.Fatalf("missing event: %+v", r)
	}

	replaced := append([]Link{}, all...)
	replaced[6].PrevHash = []byte("forged")
	if r := verify(replaced, heads); r.OK || *r.BrokenChain != 4 || r.BrokenSeq != 2 {
		t.Fatalf("forged link: %+v", r)
	}

	if r := verify(all[:7], heads); r.OK || *r.BrokenChain != 4 {
		t.Fatalf("truncated tail: %+v", r)
	}
	if r := verify(nil, heads); r.OK {
		t.Fatalf("everything deleted: %+v", r)
	}
	if r := verify(nil, map[int16]Head{}); !r.OK {
		t.Fatalf("empty trail: %+v", r)
	}
}

// Length prefixes keep field boundaries: moving text from one field to the
// next changes the hash.
func TestHashSeparatesFields(t *testing.T) {
	t.Parallel()
	e := Event{FacilityID: uuid.New(), ID: uuid.New(), Action: "a.b", ResourceType: "res", ResourceID: "x"}
	f := e
	f.ResourceType, f.ResourceID = "re", "sx"
	if string(Hash(Genesis, e)) == string(Hash(Genesis, f)) {
		t.Fatal("shifting a character between fields kept the hash")
	}
}

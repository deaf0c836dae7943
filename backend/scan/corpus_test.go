package scan

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// sharedCorpus finds ../shared/barcodes/zxing beside the repository.
func sharedCorpus(tb testing.TB) string {
	tb.Helper()
	var tried []string
	if d := os.Getenv("CORSIA_BARCODES"); d != "" {
		tried = append(tried, filepath.Join(d, "zxing"))
	}
	wd, err := os.Getwd()
	if err == nil {
		for dir := wd; ; dir = filepath.Dir(dir) {
			tried = append(tried, filepath.Join(dir, "shared", "barcodes", "zxing"))
			if filepath.Dir(dir) == dir {
				break
			}
		}
	}
	for _, p := range tried {
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			return p
		}
	}
	tb.Fatalf("shared barcode corpus not found (expected ../../../shared/barcodes/zxing from backend/scan; tried %v)", tried)
	return ""
}

type corpusImage struct {
	folder, name string
	data         []byte
	want         string
}

func loadShared(tb testing.TB) []corpusImage {
	root := sharedCorpus(tb)
	folders, err := os.ReadDir(root)
	if err != nil {
		tb.Fatal(err)
	}
	var out []corpusImage
	for _, fd := range folders {
		if !fd.IsDir() {
			continue
		}
		files, _ := filepath.Glob(filepath.Join(root, fd.Name(), "*"))
		for _, f := range files {
			ext := strings.ToLower(filepath.Ext(f))
			if ext != ".png" && ext != ".jpg" && ext != ".jpeg" {
				continue
			}
			want, err := os.ReadFile(strings.TrimSuffix(f, filepath.Ext(f)) + ".txt")
			if err != nil {
				continue // no expected text: not a test image
			}
			data, err := os.ReadFile(f)
			if err != nil {
				tb.Fatal(err)
			}
			out = append(out, corpusImage{folder: fd.Name(), name: filepath.Base(f), data: data, want: string(want)})
		}
	}
	if len(out) == 0 {
		tb.Fatalf("no images under %s", root)
	}
	return out
}

// matches compares a read with an expected text; ZXing's expected texts
// have no FNC1 separators, ours keep them as GS.
func matches(syms []Symbol, want string) bool {
	for _, s := range syms {
		if s.Text == want || strings.ReplaceAll(s.Text, "\x1d", "") == want {
			return true
		}
	}
	return false
}

type rate struct {
	n, dec, base int
	decTime      time.Duration
}

type rateTable struct {
	mu   sync.Mutex
	rows map[string]*rate
}

func (t *rateTable) add(key string, dec, base bool, d time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.rows == nil {
		t.rows = map[string]*rate{}
	}
	r := t.rows[key]
	if r == nil {
		r = &rate{}
		t.rows[key] = r
	}
	r.n++
	r.decTime += d
	if dec {
		r.dec++
	}
	if base {
		r.base++
	}
}

func (t *rateTable) format(title string) string {
	keys := make([]string, 0, len(t.rows))
	for k := range t.rows {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-26s %5s %14s %14s %10s\n", title, "n", "Decode", "Baseline", "avg ms")
	var tot rate
	for _, k := range keys {
		r := t.rows[k]
		fmt.Fprintf(&b, "%-26s %5d %5d (%3.0f%%) %5d (%3.0f%%) %10.1f\n", k, r.n, r.dec, pct(r.dec, r.n),
			r.base, pct(r.base, r.n), float64(r.decTime.Microseconds())/1000/float64(r.n))
		tot.n += r.n
		tot.dec += r.dec
		tot.base += r.base
		tot.decTime += r.decTime
	}
	fmt.Fprintf(&b, "%-26s %5d %5d (%3.0f%%) %5d (%3.0f%%) %10.1f\n", "TOTAL", tot.n, tot.dec, pct(tot.dec, tot.n),
		tot.base, pct(tot.base, tot.n), float64(tot.decTime.Microseconds())/1000/float64(max(tot.n, 1)))
	return b.String()
}

func pct(a, n int) float64 {
	if n == 0 {
		return 0
	}
	return 100 * float64(a) / float64(n)
}

// parallel runs fn over n items on two workers (the decoder's own limit).
func parallel(n int, fn func(i int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
}

func acceptAll(Symbol) bool { return true }

// rateLimits: the rate tests measure the search strategy, not how busy the
// machine is, so the wall-clock budget is generous (the strategy ends long
// before it on these images). The benchmark uses DefaultLimits.
var rateLimits = Limits{Budget: 30 * time.Second}

func TestSharedCorpus(t *testing.T) {
	imgs := loadShared(t)
	dec := New(rateLimits)
	var tab rateTable
	var mu sync.Mutex
	var regressions []string
	parallel(len(imgs), func(i int) {
		im := imgs[i]
		start := time.Now()
		syms, err := dec.Decode(context.Background(), im.data, HintNone, acceptAll)
		el := time.Since(start)
		bsyms, _ := BaselineDecode(im.data)
		okD, okB := err == nil && matches(syms, im.want), matches(bsyms, im.want)
		tab.add(im.folder, okD, okB, el)
		if okB && !okD {
			mu.Lock()
			regressions = append(regressions, fmt.Sprintf("%s/%s: got %+q (%v)", im.folder, im.name, texts(syms), err))
			mu.Unlock()
		}
		if testing.Verbose() && !okD {
			t.Logf("miss %s/%s (%v, %v): %+q", im.folder, im.name, el.Round(time.Millisecond), err, texts(syms))
		}
	})
	t.Log(tab.format("shared corpus (folder)"))
	for _, r := range regressions {
		t.Errorf("baseline reads it, Decode does not: %s", r)
	}
	for k, r := range tab.rows {
		if r.dec < r.base {
			t.Errorf("%s: Decode %d/%d below baseline %d/%d", k, r.dec, r.n, r.base, r.n)
		}
	}
}

func texts(syms []Symbol) []string {
	var out []string
	for _, s := range syms {
		out = append(out, s.Symbology+":"+s.Text)
	}
	return out
}

func TestGeneratedCorpus(t *testing.T) {
	cases := genCorpus(t)
	dec := New(rateLimits)
	// The API accepts a 1D read only if it resolves to a known product,
	// wristband or badge: the catalogue here is the generated labels.
	catalogue := map[string]bool{}
	for _, c := range cases {
		catalogue[c.sym.want] = true
	}
	accept := func(s Symbol) bool { return catalogue[s.Text] }
	var byDeg, bySym rateTable
	var mu sync.Mutex
	var regressions []string
	parallel(len(cases), func(i int) {
		c := cases[i]
		start := time.Now()
		syms, err := dec.Decode(context.Background(), c.data, HintNone, accept)
		el := time.Since(start)
		got, okD := symbolFound(syms, c.sym)
		bsyms, _ := BaselineDecode(c.data)
		okB := baselineFound(bsyms, c.sym)
		byDeg.add(c.degradation, okD, okB, el)
		bySym.add(c.sym.sym, okD, okB, el)
		if okD {
			// Points are in upright photo coordinates (EXIF applied, every
			// crop, scale and turn undone): they must fall on the label.
			box := labelBox(c).Inset(-10)
			for _, p := range got.Points {
				if !p.In(box) {
					mu.Lock()
					regressions = append(regressions, fmt.Sprintf("%s %s: point %v outside the label %v", c.degradation, c.sym.sym, p, box))
					mu.Unlock()
					break
				}
			}
		}
		if okB && !okD {
			mu.Lock()
			regressions = append(regressions, fmt.Sprintf("%s %s: baseline reads it, Decode got %+q (%v)", c.degradation, c.sym.sym, texts(syms), err))
			mu.Unlock()
		}
		if testing.Verbose() && !okD {
			t.Logf("miss %s %s (%v, %v): %+q", c.degradation, c.sym.sym, el.Round(time.Millisecond), err, texts(syms))
		}
	})
	t.Log(byDeg.format("generated (degradation)"))
	t.Log(bySym.format("generated (symbology)"))
	for _, r := range regressions {
		t.Error(r)
	}
	var rotD, rotB int
	for _, d := range []string{"rot7", "rot23", "rot38"} {
		rotD += byDeg.rows[d].dec
		rotB += byDeg.rows[d].base
	}
	if rotD < rotB+5 {
		t.Errorf("rotated: Decode %d not clearly above baseline %d", rotD, rotB)
	}
	if lc := byDeg.rows["lowcontrast"]; lc.dec < lc.base+2 {
		t.Errorf("low contrast: Decode %d not clearly above baseline %d", lc.dec, lc.base)
	}
}

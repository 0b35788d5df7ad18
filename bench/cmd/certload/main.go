// Command certload measures certificates on a running hub: it asks for -requests home-purchase
// eligibility certificates for random demo citizens, one after another, as the housing clerk
// whose token it is given (issuance latency end to end), then fetches the verification documents
// of those issued from -clients clients for -duration (GET /verify/<id>.json throughput). Every
// answer is checked: an error, a non-200 or an answer without a certificate or refusal counts
// against the run. docs/BENCHMARKS.md ("Certificates") reports its numbers.
//
// Given several hubs (-hub URL1,URL2: two builds, each on its own copy of one store), it asks
// them in turn (each first as often), request by request, for the same citizens, and reports each hub's latencies: the
// hubs are compared under the same load from the rest of the machine. The token must be valid on
// each (copies of one data directory share its issuer key). paired.sh, next to this file, starts
// two builds on two copies of a store and runs the client against both.
//
//	go run ./cmd/certload -hub http://127.0.0.1:18291 -token "$HOUSING_TOKEN" -citizens 20000
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	hubList := flag.String("hub", "http://127.0.0.1:8080", "the hub's URL, or several separated by commas (asked in turn)")
	token := flag.String("token", "", "a housing clerk's token (govhub token --kind department --department housing --role clerk)")
	citizens := flag.Int("citizens", 1000, "how many demo citizens the hub has")
	n := 0
	flag.IntVar(&n, "requests", 200, "certificates to ask for, one after another")
	clients := flag.Int("clients", 16, "clients fetching verification documents")
	duration := flag.Duration("duration", 10*time.Second, "how long they fetch")
	flag.Parse()
	hubs, tok := strings.Split(*hubList, ","), *token
	if tok == "" {
		fmt.Fprintln(os.Stderr, "certload: -token is required")
		os.Exit(2)
	}
	runs := make([]run, len(hubs))
	for i := 0; i < n; i++ {
		c := fmt.Sprintf("C%06d", 1+rand.IntN(*citizens))
		for k := range hubs {
			h := k
			if i%2 == 1 {
				h = len(hubs) - 1 - k // each hub goes first as often
			}
			runs[h].request(hubs[h], tok, c)
		}
	}
	for h, url := range hubs {
		r := &runs[h]
		sort.Slice(r.lat, func(i, j int) bool { return r.lat[i] < r.lat[j] })
		p := func(q float64) time.Duration { return r.lat[int(q*float64(len(r.lat)-1))] }
		name := ""
		if len(hubs) > 1 {
			name = " " + url
		}
		fmt.Printf("issuance%s: %d requests sequential (%d issued, %d refused): p50 %v p95 %v p99 %v max %v\n", name, n, r.issued, r.refused, p(0.5), p(0.95), p(0.99), r.lat[len(r.lat)-1])
		if len(r.ids) == 0 {
			fmt.Fprintln(os.Stderr, "certload: no certificate was issued")
			os.Exit(1)
		}
	}
	time.Sleep(2 * time.Second) // a published checkpoint covers the issue entries
	for h, url := range hubs {
		verify(url, runs[h].ids, *clients, *duration)
	}
}

// run is one hub's issuance: latencies, and the certificates issued.
type run struct {
	ids             []string
	lat             []time.Duration
	issued, refused int
}

// request asks url for a certificate about citizen c, and records the answer.
func (r *run) request(url, tok, c string) {
	{
		body, _ := json.Marshal(map[string]any{"query": `mutation($id: ID!) { requestCertificate(type: "home-purchase-eligibility", citizenId: $id) { status certificate { id } } }`, "variables": map[string]any{"id": c}})
		req, _ := http.NewRequest("POST", url+"/graphql", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		t0 := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		var a struct {
			Data struct {
				RequestCertificate struct {
					Status      string
					Certificate *struct{ ID string }
				}
			}
			Errors []any
		}
		json.NewDecoder(resp.Body).Decode(&a)
		resp.Body.Close()
		d := time.Since(t0)
		if len(a.Errors) > 0 || resp.StatusCode != http.StatusOK || a.Data.RequestCertificate.Status == "" {
			fmt.Fprintln(os.Stderr, "certload: a failed request:", url, resp.StatusCode, a.Errors)
			os.Exit(1)
		}
		r.lat = append(r.lat, d)
		if a.Data.RequestCertificate.Certificate != nil {
			r.issued++
			r.ids = append(r.ids, a.Data.RequestCertificate.Certificate.ID)
		} else {
			r.refused++
		}
	}
}

// verify fetches the verification documents of ids from url, from clients clients for duration.
func verify(url string, ids []string, clients int, duration time.Duration) {
	var ok, bad atomic.Int64
	var wg sync.WaitGroup
	stop := time.Now().Add(duration)
	for w := 0; w < clients; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				resp, err := http.Get(url + "/verify/" + ids[rand.IntN(len(ids))] + ".json")
				if err != nil {
					bad.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 {
					ok.Add(1)
				} else {
					bad.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	fmt.Printf("/verify/<id>.json %s: %d clients, %v: %.0f req/s ok, %d not 200\n", url, clients, duration, float64(ok.Load())/duration.Seconds(), bad.Load())
	if bad.Load() > 0 {
		os.Exit(1)
	}
}

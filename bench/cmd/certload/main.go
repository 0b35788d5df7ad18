// Command certload measures certificates on a running hub: it asks for -requests home-purchase
// eligibility certificates for random demo citizens, one after another, as the housing clerk
// whose token it is given (issuance latency end to end), then fetches the verification documents
// of those issued from -clients clients for -duration (GET /verify/<id>.json throughput). Every
// answer is checked: an error, a non-200 or an answer without a certificate or refusal counts
// against the run. docs/BENCHMARKS.md ("Certificates") reports its numbers.
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
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	hub := flag.String("hub", "http://127.0.0.1:8080", "the hub's URL")
	token := flag.String("token", "", "a housing clerk's token (govhub token --kind department --department housing --role clerk)")
	citizens := flag.Int("citizens", 1000, "how many demo citizens the hub has")
	n := 0
	flag.IntVar(&n, "requests", 200, "certificates to ask for, one after another")
	clients := flag.Int("clients", 16, "clients fetching verification documents")
	duration := flag.Duration("duration", 10*time.Second, "how long they fetch")
	flag.Parse()
	url, tok := *hub, *token
	if tok == "" {
		fmt.Fprintln(os.Stderr, "certload: -token is required")
		os.Exit(2)
	}
	var ids []string
	var lat []time.Duration
	issued, refused := 0, 0
	for i := 0; i < n; i++ {
		c := fmt.Sprintf("C%06d", 1+rand.IntN(*citizens))
		body, _ := json.Marshal(map[string]any{"query": `mutation($id: ID!) { requestCertificate(type: "home-purchase-eligibility", citizenId: $id) { status certificate { id } } }`, "variables": map[string]any{"id": c}})
		req, _ := http.NewRequest("POST", url+"/graphql", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		t0 := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		var r struct {
			Data struct {
				RequestCertificate struct {
					Status      string
					Certificate *struct{ ID string }
				}
			}
			Errors []any
		}
		json.NewDecoder(resp.Body).Decode(&r)
		resp.Body.Close()
		lat = append(lat, time.Since(t0))
		if len(r.Errors) > 0 || resp.StatusCode != http.StatusOK || r.Data.RequestCertificate.Status == "" {
			fmt.Fprintln(os.Stderr, "certload: a failed request:", resp.StatusCode, r.Errors)
			os.Exit(1)
		}
		if r.Data.RequestCertificate.Certificate != nil {
			issued++
			ids = append(ids, r.Data.RequestCertificate.Certificate.ID)
		} else {
			refused++
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	p := func(q float64) time.Duration { return lat[int(q*float64(len(lat)-1))] }
	fmt.Printf("issuance: %d requests sequential (%d issued, %d refused): p50 %v p95 %v p99 %v max %v\n", n, issued, refused, p(0.5), p(0.95), p(0.99), lat[len(lat)-1])
	if len(ids) == 0 {
		fmt.Fprintln(os.Stderr, "certload: no certificate was issued")
		os.Exit(1)
	}
	time.Sleep(2 * time.Second) // a published checkpoint covers the issue entries
	var ok, bad atomic.Int64
	var wg sync.WaitGroup
	stop := time.Now().Add(*duration)
	for w := 0; w < *clients; w++ {
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
	fmt.Printf("/verify/<id>.json: %d clients, %v: %.0f req/s ok, %d not 200\n", *clients, *duration, float64(ok.Load())/duration.Seconds(), bad.Load())
	if bad.Load() > 0 {
		os.Exit(1)
	}
}

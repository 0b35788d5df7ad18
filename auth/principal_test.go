package auth

import (
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestPrincipalValidate(t *testing.T) {
	tests := []struct {
		name string
		p    Principal
		ok   bool
	}{
		{"department", Principal{Kind: KindDepartment, Department: "housing", Role: "clerk", Subject: "u123"}, true},
		{"department code with digits and dash", Principal{Kind: KindDepartment, Department: "civil-affairs-2", Role: "case-worker", Subject: "li.wei@housing.gov"}, true},
		{"department code of 64", Principal{Kind: KindDepartment, Department: strings.Repeat("a", 64), Role: "clerk", Subject: "u1"}, true},
		{"department code of 65", Principal{Kind: KindDepartment, Department: strings.Repeat("a", 65), Role: "clerk", Subject: "u1"}, false},
		{"department without department", Principal{Kind: KindDepartment, Role: "clerk", Subject: "u1"}, false},
		{"department upper case", Principal{Kind: KindDepartment, Department: "Housing", Role: "clerk", Subject: "u1"}, false},
		{"department with underscore", Principal{Kind: KindDepartment, Department: "civil_affairs", Role: "clerk", Subject: "u1"}, false},
		{"department without role", Principal{Kind: KindDepartment, Department: "housing", Subject: "u1"}, false},
		{"department role with space", Principal{Kind: KindDepartment, Department: "housing", Role: "clerk a", Subject: "u1"}, false},
		{"department without subject", Principal{Kind: KindDepartment, Department: "housing", Role: "clerk"}, false},
		{"department subject of 128", Principal{Kind: KindDepartment, Department: "housing", Role: "clerk", Subject: strings.Repeat("x", 128)}, true},
		{"department subject of 129", Principal{Kind: KindDepartment, Department: "housing", Role: "clerk", Subject: strings.Repeat("x", 129)}, false},
		{"department subject with newline", Principal{Kind: KindDepartment, Department: "housing", Role: "clerk", Subject: "u1\nforged"}, false},
		{"officer", Principal{Kind: KindOfficer, Department: "privacy-office", Role: RoleOfficer, Subject: "o7"}, true},
		{"officer without role", Principal{Kind: KindOfficer, Department: "privacy-office", Subject: "o7"}, false},
		{"officer with other role", Principal{Kind: KindOfficer, Department: "privacy-office", Role: "clerk", Subject: "o7"}, false},
		{"officer without department", Principal{Kind: KindOfficer, Role: RoleOfficer, Subject: "o7"}, false},
		{"citizen", Principal{Kind: KindCitizen, Subject: "C000001"}, true},
		{"citizen with 12 digits", Principal{Kind: KindCitizen, Subject: "Z123456789012"}, true},
		{"citizen with 5 digits", Principal{Kind: KindCitizen, Subject: "C00001"}, false},
		{"citizen with 13 digits", Principal{Kind: KindCitizen, Subject: "C1234567890123"}, false},
		{"citizen lower-case letter", Principal{Kind: KindCitizen, Subject: "c000001"}, false},
		{"citizen with letter inside", Principal{Kind: KindCitizen, Subject: "C00000A"}, false},
		{"citizen with department", Principal{Kind: KindCitizen, Department: "housing", Subject: "C000001"}, false},
		{"citizen with role", Principal{Kind: KindCitizen, Role: "clerk", Subject: "C000001"}, false},
		{"auditor", Principal{Kind: KindAuditor, Subject: "audit-1"}, true},
		{"auditor with department", Principal{Kind: KindAuditor, Department: "tax", Subject: "audit-1"}, false},
		{"auditor without subject", Principal{Kind: KindAuditor}, false},
		{"operator", Principal{Kind: KindOperator, Subject: "ops-1"}, true},
		{"operator with role", Principal{Kind: KindOperator, Role: "admin", Subject: "ops-1"}, false},
		{"operator without subject", Principal{Kind: KindOperator}, false},
		{"unknown kind", Principal{Kind: "admin", Subject: "root"}, false},
		{"empty", Principal{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Validate()
			if tt.ok {
				if err != nil {
					t.Errorf("%+v.Validate() = %v, want nil", tt.p, err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidPrincipal) {
				t.Errorf("%+v.Validate() = %v, want %v", tt.p, err, ErrInvalidPrincipal)
			}
			for _, v := range []string{tt.p.Department, tt.p.Role, tt.p.Subject} {
				if len(v) > 3 && err != nil && strings.Contains(err.Error(), v) {
					t.Errorf("%+v.Validate() = %q, which echoes the value %q", tt.p, err, v)
				}
			}
		})
	}
}

func TestContext(t *testing.T) {
	ctx := t.Context()
	if p, ok := FromContext(ctx); ok {
		t.Errorf("FromContext(empty) = %+v, true, want false", p)
	}
	want := Principal{Kind: KindCitizen, Subject: "C000001", TokenID: "j"}
	got, ok := FromContext(NewContext(ctx, want))
	if !ok || got != want {
		t.Errorf("FromContext(NewContext(ctx, %+v)) = %+v, %v, want %+v, true", want, got, ok, want)
	}
}

func TestPrincipalSame(t *testing.T) {
	officer := Principal{Kind: KindOfficer, Department: "privacy-office", Role: RoleOfficer, Subject: "officer-1", Issuer: "govhub"}
	tests := []struct {
		name string
		q    Principal
		want bool
	}{
		{"itself", officer, true},
		{"upper case", Principal{Kind: KindOfficer, Subject: "OFFICER-1", Issuer: "govhub"}, true},
		{"mixed case", Principal{Kind: KindOfficer, Subject: "Officer-1", Issuer: "govhub"}, true},
		{"as a department official", Principal{Kind: KindDepartment, Department: "housing", Role: "clerk", Subject: "officer-1", Issuer: "govhub"}, true},
		{"another subject", Principal{Kind: KindOfficer, Subject: "officer-2", Issuer: "govhub"}, false},
		{"another issuer", Principal{Kind: KindOfficer, Subject: "officer-1", Issuer: "https://idp.example"}, false},
		{"no issuer", Principal{Kind: KindOfficer, Subject: "officer-1"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := officer.Same(tt.q); got != tt.want {
				t.Errorf("%+v.Same(%+v) = %v, want %v", officer, tt.q, got, tt.want)
			}
			if got := tt.q.Same(officer); got != tt.want {
				t.Errorf("Same is not symmetric for %+v", tt.q)
			}
		})
	}
	for in, want := range map[string]string{"OFFICER-1": "officer-1", "C000001": "c000001", "a.B_c@D+e:F-9": "a.b_c@d+e:f-9", "ÉCOLE": "École"} {
		if got := CanonicalSubject(in); got != want {
			t.Errorf("CanonicalSubject(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLifetimeAndAudience(t *testing.T) {
	pub := testKey("hub").Public().(ed25519.PublicKey)
	t.Run("issuer refuses a ttl over its maximum", func(t *testing.T) {
		iss := newTestIssuer(t, testNow)
		if _, err := iss.Issue(clerk, DefaultMaxLifetime); err != nil {
			t.Errorf("Issue(ttl = the maximum) = %v", err)
		}
		_, err := iss.Issue(clerk, 876000*time.Hour)
		if err == nil || !strings.Contains(err.Error(), "maximum token lifetime 24h0m0s") {
			t.Errorf("Issue(ttl 876000h) = %v, want a refusal naming the maximum", err)
		}
		short, err := NewIssuer(testKey("hub"), testIssuer, WithIssuerMaxLifetime(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := short.Issue(clerk, 2*time.Hour); err == nil {
			t.Errorf("Issue(2h) with a 1h maximum succeeded")
		}
	})
	t.Run("verifier's maximum", func(t *testing.T) {
		iss, err := NewIssuer(testKey("hub"), testIssuer, WithIssuerClock(fixedClock(testNow)), WithIssuerMaxLifetime(48*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		tok, err := iss.Issue(clerk, 48*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := newTestVerifier(t).Verify(tok); !errors.Is(err, ErrClaims) {
			t.Errorf("Verify(a 48h token) with the default maximum = %v, want ErrClaims", err)
		}
		v, err := NewVerifier(pub, testIssuer, WithClock(fixedClock(testNow)), WithMaxLifetime(48*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(tok); err != nil {
			t.Errorf("Verify(a 48h token) with a 48h maximum = %v", err)
		}
	})
	t.Run("configured audience", func(t *testing.T) {
		iss, err := NewIssuer(testKey("hub"), testIssuer, WithIssuerClock(fixedClock(testNow)), WithIssuerAudience("province-hub"))
		if err != nil {
			t.Fatal(err)
		}
		tok, err := iss.Issue(clerk, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := newTestVerifier(t).Verify(tok); !errors.Is(err, ErrClaims) || !strings.Contains(err.Error(), "audience") {
			t.Errorf("Verify(a token for province-hub) by a govhub verifier = %v, want ErrClaims: wrong audience", err)
		}
		v, err := NewVerifier(pub, testIssuer, WithClock(fixedClock(testNow)), WithAudience("province-hub"))
		if err != nil {
			t.Fatal(err)
		}
		if p, err := v.Verify(tok); err != nil || p.Issuer != testIssuer {
			t.Errorf("Verify(a token for province-hub) by its verifier = %+v, %v", p, err)
		}
	})
	t.Run("bad configuration", func(t *testing.T) {
		if _, err := NewVerifier(pub, testIssuer, WithAudience("")); err == nil {
			t.Error("NewVerifier(empty audience) succeeded")
		}
		if _, err := NewVerifier(pub, testIssuer, WithMaxLifetime(0)); err == nil {
			t.Error("NewVerifier(zero maximum lifetime) succeeded")
		}
		if _, err := NewIssuer(testKey("hub"), testIssuer, WithIssuerAudience("")); err == nil {
			t.Error("NewIssuer(empty audience) succeeded")
		}
	})
}

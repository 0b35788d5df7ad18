package web

import (
	"fmt"
	"net/url"

	"rsc.io/qr"
)

// QRCodePNG returns a PNG of the QR code (error correction level M, 15 % of the symbol
// recoverable) of link, an absolute http or https URL: how a certificate's verification link is
// handed over on paper or a screen. It refuses anything else, so that a QR code of this hub never
// points a phone at a javascript: or data: URL.
func QRCodePNG(link string) ([]byte, error) {
	u, err := url.Parse(link)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return nil, fmt.Errorf("web: a QR code is made only of an absolute http(s) URL, not %q", link)
	}
	code, err := qr.Encode(u.String(), qr.M)
	if err != nil {
		return nil, fmt.Errorf("web: encoding the QR code: %w", err)
	}
	code.Scale = 6
	return code.PNG(), nil
}

package web_test

import (
	"bytes"
	"image/png"
	"testing"

	"github.com/makiuchi-d/gozxing"
	gzqr "github.com/makiuchi-d/gozxing/qrcode"

	"github.com/govhub/govhub/web"
)

// DecodeQR reads the text of a QR code PNG with an independent decoder (gozxing, a port of
// ZXing), as a phone's camera would.
func decodeQR(t *testing.T, b []byte) string {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := gzqr.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		t.Fatalf("decoding the QR code: %v", err)
	}
	return res.GetText()
}

func TestQRCodePNG(t *testing.T) {
	const link = "https://hub.example.gov.cn/verify/c-ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	b, err := web.QRCodePNG(link)
	if err != nil {
		t.Fatal(err)
	}
	if got := decodeQR(t, b); got != link {
		t.Errorf("the QR code reads %q, want %q", got, link)
	}
	for _, bad := range []string{"javascript:alert(1)", "data:text/html,hi", "/verify/c-x", "https://user:pw@host/x", "ftp://host/x"} {
		if _, err := web.QRCodePNG(bad); err == nil {
			t.Errorf("QRCodePNG(%q) = nil error", bad)
		}
	}
}

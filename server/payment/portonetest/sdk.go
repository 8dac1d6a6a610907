package portonetest

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// The fake's browser SDKs, served at <V1URL>/sdk/iamport.js and
// <V2URL>/sdk/browser-sdk.js for the console's payment page: the same
// globals and calls as PortOne's (IMP.init / IMP.request_pay, and
// PortOne.requestPayment), with the "window" answered at once by the fake.
// What the buyer does is the page's window.__portoneTest: "pay" (default),
// "cancel" (closes the window), or "tamper" (pays another amount).
const sdkV1 = `(() => {
  const origin = %q;
  window.IMP = {
    init(code) { this.code = code; },
    request_pay(p, cb) {
      fetch(origin + '/sdk/pay', { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: JSON.stringify({
        code: this.code, id: p.merchant_uid, amount: p.amount, choice: window.__portoneTest || 'pay' }) })
        .then((r) => r.json()).then(cb, (e) => cb({ success: false, error_msg: String(e) }));
    },
  };
})();
`

const sdkV2 = `(() => {
  const origin = %q;
  window.PortOne = {
    requestPayment(p) {
      return fetch(origin + '/sdk/pay', { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: JSON.stringify({
        code: p.storeId, id: p.paymentId, amount: p.totalAmount, choice: window.__portoneTest || 'pay' }) })
        .then((r) => r.json());
    },
  };
})();
`

// StoreCode and StoreID are what the fake SDKs expect from the console.
const (
	StoreCode = "imp00000000"
	StoreID   = "store-00000000"
)

type sdkPay struct {
	Code   string `json:"code"`
	ID     string `json:"id"`
	Amount int64  `json:"amount"`
	Choice string `json:"choice"`
}

func (s *Server) sdkHandlers(v1, v2 *http.ServeMux) {
	script := func(src func() string) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
			fmt.Fprint(w, src())
		}
	}
	v1.HandleFunc("GET /sdk/iamport.js", script(func() string { return fmt.Sprintf(sdkV1, s.V1URL) }))
	v2.HandleFunc("GET /sdk/browser-sdk.js", script(func() string { return fmt.Sprintf(sdkV2, s.V2URL) }))
	v1.HandleFunc("POST /sdk/pay", s.sdkPay(false))
	v2.HandleFunc("POST /sdk/pay", s.sdkPay(true))
}

// sdkPay is the payment window's answer, in each version's shape.
func (s *Server) sdkPay(v2 bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*") // the console's origin calls it
		w.Header().Set("Content-Type", "application/json")
		var p sdkPay
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&p); err != nil || p.ID == "" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		want := StoreCode
		if v2 {
			want = StoreID
		}
		refuse := func(code, msg string) {
			if v2 {
				_ = json.NewEncoder(w).Encode(map[string]any{"code": code, "message": msg, "paymentId": p.ID})
			} else {
				_ = json.NewEncoder(w).Encode(map[string]any{"success": false, "error_code": code, "error_msg": msg, "merchant_uid": p.ID})
			}
		}
		if p.Code != want {
			refuse("INVALID_STORE", "unknown store "+p.Code)
			return
		}
		amount := p.Amount
		switch p.Choice {
		case "cancel":
			refuse("USER_CANCEL", "사용자가 결제를 취소하셨습니다")
			return
		case "tamper":
			amount = p.Amount / 10
		}
		if v2 {
			s.PayV2(p.ID, amount)
			_ = json.NewEncoder(w).Encode(map[string]any{"paymentId": p.ID, "transactionType": "PAYMENT", "txId": "tx-" + p.ID})
			return
		}
		imp, err := s.PayV1(p.ID, amount) // refuses an amount other than the prepared one
		if err != nil {
			refuse("AMOUNT_MISMATCH", err.Error())
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"success": true, "imp_uid": imp, "merchant_uid": p.ID, "paid_amount": amount})
	}
}

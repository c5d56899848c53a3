package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"promo/internal/promo"
)

// statusOf is the one table from error codes to HTTP statuses. Codes it does
// not know are internal errors.
func statusOf(code string) int {
	switch code {
	case promo.ENotFound, promo.EResourceNotFound:
		return http.StatusNotFound
	case promo.EDuplicateFound, promo.ECampaignInProgress, promo.EResourceInUse:
		return http.StatusConflict
	case promo.EUnauthorized:
		return http.StatusUnauthorized
	case promo.EForbidden:
		return http.StatusForbidden
	case promo.EInvalidPayload, promo.EInvalidParam, promo.ENoVoucherSuitable,
		promo.EVoucherPublished, promo.EDuplicateSourceID, promo.EPageOverLimit,
		promo.ECodesExhausted, promo.EVoucherDisabled, promo.ECampaignDisabled,
		promo.EVoucherNotActive, promo.EVoucherExpired, promo.EQuantityExceeded, promo.ECustomerRulesViolated,
		promo.EOrderRulesViolated, promo.ERedemptionRulesViolated, promo.EDuplicatedRedeemables,
		promo.EAlreadyRolledBack, promo.ERollbackFailed, promo.EBudgetExceeded, promo.ECodeNotApplicable:
		return http.StatusBadRequest
	case promo.EMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case promo.ETooLarge:
		return http.StatusRequestEntityTooLarge
	case promo.EUnsupportedMedia:
		return http.StatusUnsupportedMediaType
	case promo.EIdempotencyKeyReused:
		return http.StatusUnprocessableEntity
	case promo.ETooManyRequests:
		return http.StatusTooManyRequests
	case promo.EUnavailable:
		return http.StatusServiceUnavailable
	}
	if strings.HasPrefix(code, "invalid_") || strings.HasPrefix(code, "missing_") {
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

// errorBody is the API's error envelope.
type errorBody struct {
	Code         int    `json:"code"`
	Key          string `json:"key"`
	Message      string `json:"message"`
	Details      string `json:"details"`
	RequestID    string `json:"request_id"`
	ResourceID   string `json:"resource_id,omitempty"`
	ResourceType string `json:"resource_type,omitempty"`
}

// writeError writes err as the error envelope with the status its code maps
// to. Anything that is not a *promo.Error with a known code becomes a 500
// with a generic message; the error itself goes to the request's log line
// at error level, and never to the client.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusInternalServerError
	e, ok := errors.AsType[*promo.Error](err)
	if ok {
		status = statusOf(e.Code)
	}
	body := errorBody{Code: status, RequestID: promo.RequestIDFromContext(r.Context())}
	noteError(r, err, status == http.StatusInternalServerError)
	if status == http.StatusInternalServerError {
		body.Key = promo.EInternal
		body.Message = "Internal error"
	} else {
		body.Key = e.Code
		body.Message = e.Message
		if body.Message == "" {
			body.Message = promo.Errorf(e.Code, "").Message
		}
		body.Details = e.Details
		body.ResourceID = e.ResourceID
		body.ResourceType = e.ResourceType
	}
	buf := buffers.Get().(*bytes.Buffer)
	defer putBuffer(buf)
	buf.Write(body.appendJSON(buf.AvailableBuffer()))
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// appendJSON appends b as encoding/json would encode it (with HTML
// escaping off), followed by a newline, without reflection: refusals are
// the hot path of a flood.
func (b errorBody) appendJSON(dst []byte) []byte {
	dst = append(dst, `{"code":`...)
	dst = strconv.AppendInt(dst, int64(b.Code), 10)
	dst = append(dst, `,"key":`...)
	dst = appendJSONString(dst, b.Key)
	dst = append(dst, `,"message":`...)
	dst = appendJSONString(dst, b.Message)
	dst = append(dst, `,"details":`...)
	dst = appendJSONString(dst, b.Details)
	dst = append(dst, `,"request_id":`...)
	dst = appendJSONString(dst, b.RequestID)
	if b.ResourceID != "" {
		dst = append(dst, `,"resource_id":`...)
		dst = appendJSONString(dst, b.ResourceID)
	}
	if b.ResourceType != "" {
		dst = append(dst, `,"resource_type":`...)
		dst = appendJSONString(dst, b.ResourceType)
	}
	return append(dst, "}\n"...)
}

// appendJSONString appends s as a JSON string, escaped as encoding/json
// escapes it with HTML escaping off: quotes, backslashes and control
// characters, U+2028 and U+2029, and invalid UTF-8 as U+FFFD.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// buffers recycles response buffers: a response is encoded whole before it
// is sent, so that an encoding error can still become a 500.
var buffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// putBuffer returns buf to buffers, unless a large response grew it: the
// pool would keep that memory alive for small ones.
func putBuffer(buf *bytes.Buffer) {
	if buf.Cap() > 64<<10 {
		return
	}
	buf.Reset()
	buffers.Put(buf)
}

// writeJSON writes v as JSON with status. If v cannot be encoded, the client
// gets a 500 envelope instead.
func writeJSON(w http.ResponseWriter, status int, v any) {
	buf := buffers.Get().(*bytes.Buffer)
	defer putBuffer(buf)
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		if rw, ok := w.(*responseWriter); ok {
			rw.st.err, rw.st.internal = err, true
		} else {
			slog.Error("encoding a response", "error", err)
		}
		buf.Reset()
		status = http.StatusInternalServerError
		requestID := ""
		if rw, ok := w.(*responseWriter); ok {
			requestID = rw.st.requestID
		}
		json.NewEncoder(buf).Encode(errorBody{Code: status, Key: promo.EInternal, Message: "Internal error", RequestID: requestID})
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// writeList writes the API's list envelope, in which the array's key is
// dataRef: {"object":"list","data_ref":"vouchers","vouchers":[...],"total":n}.
// A nil slice is written as an empty array.
func writeList(w http.ResponseWriter, dataRef string, items any, total int64) {
	if v := reflect.ValueOf(items); items == nil || v.Kind() == reflect.Slice && v.IsNil() {
		items = []struct{}{}
	}
	writeJSON(w, http.StatusOK, listBody{dataRef: dataRef, items: items, total: total})
}

// listBody keeps the envelope's keys in the order the API documents them.
type listBody struct {
	dataRef string
	items   any
	total   int64
}

func (l listBody) MarshalJSON() ([]byte, error) {
	ref, err := json.Marshal(l.dataRef)
	if err != nil {
		return nil, err
	}
	items, err := json.Marshal(l.items)
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, len(items)+2*len(ref)+64)
	b = append(b, `{"object":"list","data_ref":`...)
	b = append(b, ref...)
	b = append(b, ',')
	b = append(b, ref...)
	b = append(b, ':')
	b = append(b, items...)
	b = append(b, `,"total":`...)
	b = strconv.AppendInt(b, l.total, 10)
	b = append(b, '}')
	return b, nil
}

// Package portone is a small client for the PortOne (formerly IAMPORT)
// payment gateway: the V1 REST API (api.iamport.kr, access token from
// /users/getToken cached until shortly before it expires), the V2 REST API
// (api.portone.io, "PortOne <secret>" authorization), Standard Webhooks
// signature verification for V2 webhooks, and strict decoders for the V1 and
// V2 webhook bodies.
//
// It knows nothing about orders or users; server/payment builds on it.
package portone

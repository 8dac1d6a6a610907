// Minimal C shim over libvpx: cgo cannot call its macros (vpx_codec_enc_init,
// vpx_codec_dec_init) or variadic functions (vpx_codec_control_), so these
// wrappers do just that and nothing more.
#ifndef DIDACTO_VP8_SHIM_H
#define DIDACTO_VP8_SHIM_H

#include <vpx/vpx_encoder.h>
#include <vpx/vpx_decoder.h>
#include <vpx/vp8cx.h>
#include <vpx/vp8dx.h>

vpx_codec_err_t shim_enc_default_config(vpx_codec_enc_cfg_t *cfg);
vpx_codec_err_t shim_enc_init(vpx_codec_ctx_t *ctx, vpx_codec_enc_cfg_t *cfg);
vpx_codec_err_t shim_control_int(vpx_codec_ctx_t *ctx, int id, int value);
vpx_codec_err_t shim_dec_init(vpx_codec_ctx_t *ctx, unsigned int threads);
vpx_codec_err_t shim_peek(const uint8_t *data, unsigned int size,
                          unsigned int *w, unsigned int *h, int *is_kf);

// shim_dec_corrupted asks the VP8 decoder whether the last frame decoded
// from damaged or missing data (the control takes an int*).
vpx_codec_err_t shim_dec_corrupted(vpx_codec_ctx_t *ctx, int *corrupted);

// shim_pkt_frame reads the frame member of a packet's union (cgo sees unions
// as opaque bytes). It returns 0 for packets that are not compressed frames.
int shim_pkt_frame(const vpx_codec_cx_pkt_t *pkt, const void **buf,
                   size_t *size, vpx_codec_frame_flags_t *flags,
                   vpx_codec_pts_t *pts, unsigned long *duration);

#endif

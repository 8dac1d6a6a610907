#include "shim.h"

vpx_codec_err_t shim_enc_default_config(vpx_codec_enc_cfg_t *cfg) {
  return vpx_codec_enc_config_default(vpx_codec_vp8_cx(), cfg, 0);
}

vpx_codec_err_t shim_enc_init(vpx_codec_ctx_t *ctx, vpx_codec_enc_cfg_t *cfg) {
  return vpx_codec_enc_init(ctx, vpx_codec_vp8_cx(), cfg, 0);
}

vpx_codec_err_t shim_control_int(vpx_codec_ctx_t *ctx, int id, int value) {
  return vpx_codec_control_(ctx, id, value);
}

vpx_codec_err_t shim_dec_init(vpx_codec_ctx_t *ctx, unsigned int threads) {
  vpx_codec_dec_cfg_t cfg = {0};
  cfg.threads = threads;
  return vpx_codec_dec_init(ctx, vpx_codec_vp8_dx(), &cfg, 0);
}

vpx_codec_err_t shim_peek(const uint8_t *data, unsigned int size,
                          unsigned int *w, unsigned int *h, int *is_kf) {
  vpx_codec_stream_info_t si = {0};
  si.sz = sizeof(si);
  vpx_codec_err_t err =
      vpx_codec_peek_stream_info(vpx_codec_vp8_dx(), data, size, &si);
  *w = si.w;
  *h = si.h;
  *is_kf = si.is_kf;
  return err;
}

int shim_pkt_frame(const vpx_codec_cx_pkt_t *pkt, const void **buf,
                   size_t *size, vpx_codec_frame_flags_t *flags,
                   vpx_codec_pts_t *pts, unsigned long *duration) {
  if (pkt->kind != VPX_CODEC_CX_FRAME_PKT) return 0;
  *buf = pkt->data.frame.buf;
  *size = pkt->data.frame.sz;
  *flags = pkt->data.frame.flags;
  *pts = pkt->data.frame.pts;
  *duration = pkt->data.frame.duration;
  return 1;
}

vpx_codec_err_t shim_dec_corrupted(vpx_codec_ctx_t *ctx, int *corrupted) {
  return vpx_codec_control_(ctx, VP8D_GET_FRAME_CORRUPTED, corrupted);
}

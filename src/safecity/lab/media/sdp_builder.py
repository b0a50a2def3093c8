"""SDP for a lab stream, with real H.264/H.265 parameter sets whose SPS carries the
configured resolution, as a camera's DESCRIBE answer does (RFC 6184 / RFC 7798 fmtp)."""

from __future__ import annotations

import base64
from functools import lru_cache

from safecity.lab.media.rtsp_endpoint import StreamSpec


class _BitWriter:
    def __init__(self) -> None:
        self.bits: list[int] = []

    def u(self, n: int, value: int) -> None:
        self.bits.extend((value >> (n - 1 - i)) & 1 for i in range(n))

    def ue(self, value: int) -> None:  # Exp-Golomb, unsigned
        code = value + 1
        length = code.bit_length()
        self.u(length - 1, 0)
        self.u(length, code)

    def rbsp(self) -> bytes:
        self.bits.append(1)  # rbsp_stop_one_bit, then align
        while len(self.bits) % 8:
            self.bits.append(0)
        return bytes(int("".join(map(str, self.bits[i:i + 8])), 2)
                     for i in range(0, len(self.bits), 8))


def _escape(payload: bytes) -> bytes:
    """Insert emulation-prevention bytes (00 00 0x -> 00 00 03 0x for x <= 3)."""
    out = bytearray()
    zeros = 0
    for b in payload:
        if zeros >= 2 and b <= 3:
            out.append(3)
            zeros = 0
        out.append(b)
        zeros = zeros + 1 if b == 0 else 0
    return bytes(out)


def _h264_sps(width: int, height: int) -> bytes:
    w = _BitWriter()
    w.u(8, 100)  # profile_idc: High
    w.u(8, 0)  # constraint flags
    w.u(8, 40)  # level 4.0
    w.ue(0)  # seq_parameter_set_id
    w.ue(1)  # chroma_format_idc 4:2:0
    w.ue(0)  # bit_depth_luma_minus8
    w.ue(0)  # bit_depth_chroma_minus8
    w.u(1, 0)  # qpprime_y_zero_transform_bypass
    w.u(1, 0)  # seq_scaling_matrix_present
    w.ue(4)  # log2_max_frame_num_minus4
    w.ue(0)  # pic_order_cnt_type
    w.ue(4)  # log2_max_pic_order_cnt_lsb_minus4
    w.ue(1)  # max_num_ref_frames
    w.u(1, 0)  # gaps_in_frame_num_allowed
    mbs_w, mbs_h = (width + 15) // 16, (height + 15) // 16
    w.ue(mbs_w - 1)
    w.ue(mbs_h - 1)
    w.u(1, 1)  # frame_mbs_only
    w.u(1, 1)  # direct_8x8_inference
    crop_r, crop_b = (mbs_w * 16 - width) // 2, (mbs_h * 16 - height) // 2  # 4:2:0 units
    if crop_r or crop_b:
        w.u(1, 1)
        for v in (0, crop_r, 0, crop_b):
            w.ue(v)
    else:
        w.u(1, 0)
    w.u(1, 0)  # vui_parameters_present
    return bytes([0x67]) + _escape(w.rbsp())  # nal_ref_idc 3, type 7


def _h264_pps() -> bytes:
    w = _BitWriter()
    w.ue(0)  # pic_parameter_set_id
    w.ue(0)  # seq_parameter_set_id
    w.u(1, 0)  # entropy_coding_mode (CAVLC)
    w.u(1, 0)  # bottom_field_pic_order_in_frame_present
    w.ue(0)  # num_slice_groups_minus1
    w.ue(0)
    w.ue(0)  # num_ref_idx_l0/l1_default_active_minus1
    w.u(1, 0)
    w.u(2, 0)  # weighted pred/bipred
    w.ue(0)  # pic_init_qp_minus26 (se(0) == ue(0))
    w.ue(0)
    w.ue(0)
    w.u(1, 1)  # deblocking_filter_control_present
    w.u(1, 0)
    w.u(1, 0)
    return bytes([0x68]) + _escape(w.rbsp())


def _h265_profile_tier_level(w: _BitWriter) -> None:
    w.u(2, 0)  # general_profile_space
    w.u(1, 0)  # general_tier_flag
    w.u(5, 1)  # general_profile_idc: Main
    w.u(32, 0x60000000)  # compatibility flags 1, 2
    w.u(4, 0b1001)  # progressive, interlaced, non_packed, frame_only
    w.u(43, 0)
    w.u(1, 0)
    w.u(8, 120)  # general_level_idc: 4.0


def _h265_nal(nal_type: int, rbsp: bytes) -> bytes:
    return bytes([nal_type << 1, 1]) + _escape(rbsp)


def _h265_vps() -> bytes:
    w = _BitWriter()
    w.u(4, 0)  # vps_video_parameter_set_id
    w.u(1, 1)
    w.u(1, 1)  # base layer internal / available
    w.u(6, 0)  # max_layers_minus1
    w.u(3, 0)  # max_sub_layers_minus1
    w.u(1, 1)  # temporal_id_nesting
    w.u(16, 0xFFFF)
    _h265_profile_tier_level(w)
    w.u(1, 0)  # sub_layer_ordering_info_present
    w.ue(1)
    w.ue(0)
    w.ue(0)
    w.u(6, 0)  # max_layer_id
    w.ue(0)  # num_layer_sets_minus1
    w.u(1, 0)  # timing_info_present
    w.u(1, 0)  # extension
    return _h265_nal(32, w.rbsp())


def _h265_sps(width: int, height: int) -> bytes:
    w = _BitWriter()
    w.u(4, 0)  # sps_video_parameter_set_id
    w.u(3, 0)  # max_sub_layers_minus1
    w.u(1, 1)  # temporal_id_nesting
    _h265_profile_tier_level(w)
    w.ue(0)  # sps_seq_parameter_set_id
    w.ue(1)  # chroma_format_idc 4:2:0
    coded_w, coded_h = (width + 7) // 8 * 8, (height + 7) // 8 * 8
    w.ue(coded_w)
    w.ue(coded_h)
    if (coded_w, coded_h) != (width, height):
        w.u(1, 1)  # conformance window, in chroma units (2 px)
        for v in (0, (coded_w - width) // 2, 0, (coded_h - height) // 2):
            w.ue(v)
    else:
        w.u(1, 0)
    w.ue(0)
    w.ue(0)  # bit depths
    w.ue(4)  # log2_max_pic_order_cnt_lsb_minus4
    # The rest of the SPS (sub-layer ordering, block sizes, ...) is not needed by anything
    # that reads the resolution; a decoder would want it, the lab sends no pictures.
    return _h265_nal(33, w.rbsp())


def _h265_pps() -> bytes:
    w = _BitWriter()
    w.ue(0)
    w.ue(0)
    w.u(7, 0)
    return _h265_nal(34, w.rbsp())


@lru_cache(maxsize=64)
def _fmtp(codec: str, width: int, height: int) -> str:
    """The fmtp parameters with the parameter sets: bit-level encoding, so cached per
    resolution (a large lab answers thousands of DESCRIBEs with a handful of them)."""
    if codec == "H264":
        sps = _h264_sps(width, height)
        return (f"packetization-mode=1;profile-level-id={sps[1:4].hex().upper()};"
                f"sprop-parameter-sets={_b64(sps)},{_b64(_h264_pps())}")
    return (f"sprop-vps={_b64(_h265_vps())};"
            f"sprop-sps={_b64(_h265_sps(width, height))};"
            f"sprop-pps={_b64(_h265_pps())}")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def media_section(stream: StreamSpec, payload_type: int = 96, track: int = 1) -> list[str]:
    fmtp = _fmtp(stream.codec, stream.width, stream.height)
    return [
        f"m=video 0 RTP/AVP {payload_type}",
        "c=IN IP4 0.0.0.0",
        "b=AS:4096",
        f"a=rtpmap:{payload_type} {stream.codec}/90000",
        f"a=fmtp:{payload_type} {fmtp}",
        f"a=framerate:{stream.fps}",
        f"a=control:trackID={track}",
    ]


def build_sdp(stream: StreamSpec, host: str, session_id: int, session_name: str,
              dimension_attrs: bool = True) -> str:
    """The DESCRIBE body. ``dimension_attrs`` adds a=framesize / a=x-dimensions as some
    vendors do; without them a client must read the resolution from the SPS."""
    lines = [
        "v=0",
        f"o=- {session_id} 1 IN IP4 {host}",
        f"s={session_name}",
        "t=0 0",
        "a=tool:safecity-lab",
        "a=type:broadcast",
        "a=control:*",
        "a=range:npt=0-",
    ]
    media = media_section(stream)
    if dimension_attrs:
        media.insert(-1, f"a=framesize:96 {stream.width}-{stream.height}")
        media.insert(-1, f"a=x-dimensions:{stream.width},{stream.height}")
    return "\r\n".join(lines + media) + "\r\n"

"""Picture size from an H.264 or H.265 sequence parameter set (as carried base64 in the SDP
fmtp ``sprop-parameter-sets`` / ``sprop-sps``), for cameras that send no a=framesize."""

from __future__ import annotations

_H264_HIGH_PROFILES = {100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135}


class _BitReader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def u(self, n: int) -> int:
        value = 0
        for _ in range(n):
            byte = self.pos >> 3
            if byte >= len(self.data):
                raise ValueError("SPS truncated")
            value = (value << 1) | ((self.data[byte] >> (7 - (self.pos & 7))) & 1)
            self.pos += 1
        return value

    def ue(self) -> int:
        zeros = 0
        while self.u(1) == 0:
            zeros += 1
            if zeros > 31:
                raise ValueError("bad Exp-Golomb code in SPS")
        return (1 << zeros) - 1 + self.u(zeros)

    def se(self) -> int:
        k = self.ue()
        return (k + 1) // 2 if k % 2 else -(k // 2)


def _unescape(nal: bytes) -> bytes:
    """Drop emulation-prevention bytes (the 03 in 00 00 03)."""
    out = bytearray()
    zeros = 0
    for b in nal:
        if zeros >= 2 and b == 3:
            zeros = 0
            continue
        out.append(b)
        zeros = zeros + 1 if b == 0 else 0
    return bytes(out)


def _skip_scaling_list(r: _BitReader, size: int) -> None:
    last, following = 8, 8
    for _ in range(size):
        if following:
            following = (last + r.se() + 256) % 256
        last = following or last


def h264_sps_resolution(nal: bytes) -> tuple[int, int]:
    if not nal or nal[0] & 0x1F != 7:
        raise ValueError("not an H.264 SPS NAL unit")
    r = _BitReader(_unescape(nal[1:]))
    profile = r.u(8)
    r.u(16)  # constraint flags, level
    r.ue()  # seq_parameter_set_id
    chroma_format = 1
    separate_planes = 0
    if profile in _H264_HIGH_PROFILES:
        chroma_format = r.ue()
        if chroma_format == 3:
            separate_planes = r.u(1)
        r.ue()
        r.ue()  # bit depths
        r.u(1)
        if r.u(1):  # seq_scaling_matrix_present
            for i in range(8 if chroma_format != 3 else 12):
                if r.u(1):
                    _skip_scaling_list(r, 16 if i < 6 else 64)
    r.ue()  # log2_max_frame_num_minus4
    poc_type = r.ue()
    if poc_type == 0:
        r.ue()
    elif poc_type == 1:
        r.u(1)
        r.se()
        r.se()
        for _ in range(r.ue()):
            r.se()
    r.ue()  # max_num_ref_frames
    r.u(1)
    width_mbs = r.ue() + 1
    height_units = r.ue() + 1
    frame_mbs_only = r.u(1)
    if not frame_mbs_only:
        r.u(1)
    r.u(1)
    width = width_mbs * 16
    height = (2 - frame_mbs_only) * height_units * 16
    if r.u(1):  # frame_cropping_flag
        left, right, top, bottom = r.ue(), r.ue(), r.ue(), r.ue()
        chroma_array = 0 if separate_planes else chroma_format
        crop_x = 1 if chroma_array in (0, 3) else 2
        crop_y = (1 if chroma_array in (0, 2, 3) else 2) * (2 - frame_mbs_only)
        width -= crop_x * (left + right)
        height -= crop_y * (top + bottom)
    return width, height


def h265_sps_resolution(nal: bytes) -> tuple[int, int]:
    if len(nal) < 3 or (nal[0] >> 1) & 0x3F != 33:
        raise ValueError("not an H.265 SPS NAL unit")
    r = _BitReader(_unescape(nal[2:]))
    r.u(4)  # sps_video_parameter_set_id
    max_sub_layers = r.u(3) + 1
    r.u(1)
    # profile_tier_level(1, max_sub_layers - 1)
    r.u(8)
    r.u(32)
    r.u(48)
    r.u(8)  # general profile/tier/flags/level
    sub_profile, sub_level = [], []
    for _ in range(max_sub_layers - 1):
        sub_profile.append(r.u(1))
        sub_level.append(r.u(1))
    if max_sub_layers > 1:
        for _ in range(max_sub_layers - 1, 8):
            r.u(2)
    for i in range(max_sub_layers - 1):
        if sub_profile[i]:
            r.u(88)
        if sub_level[i]:
            r.u(8)
    r.ue()  # sps_seq_parameter_set_id
    chroma_format = r.ue()
    if chroma_format == 3:
        r.u(1)
    width, height = r.ue(), r.ue()
    if r.u(1):  # conformance_window_flag
        left, right, top, bottom = r.ue(), r.ue(), r.ue(), r.ue()
        sub_w = 2 if chroma_format in (1, 2) else 1
        sub_h = 2 if chroma_format == 1 else 1
        width -= sub_w * (left + right)
        height -= sub_h * (top + bottom)
    return width, height

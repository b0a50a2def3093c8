"""Provision ONE camera or encoder: read → diff → (check mode: stop) → apply → re-read.

The order is DOMAIN.md §3's: activation and ONVIF enablement (vendor API) first, then time,
hostname, DNS, users, encoders, discovery, GB/T 28181 (vendor API) and the network last, after
which the device is found again at its new address. Every failure becomes a failed ``Result``
naming the device; a second run against a converged device changes nothing.

An address change is only reported as done once the device answers at the new address; until
then ``evidence["address"]`` stays the old address, so whoever records results (inventory,
plan) keeps the address the device really has.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from safecity.drivers.onvif.client import OnvifClient
from safecity.drivers.onvif.models import NewUser
from safecity.drivers.vendor.plugins import (
    ActivationPlugin,
    Gb28181Plugin,
    VendorEndpoint,
    activation_plugin,
    gb28181_plugin,
)
from safecity.errors import (
    AuthFailed,
    DeviceError,
    DeviceRejected,
    DeviceUnreachable,
    VerificationFailed,
    WrongDevice,
)
from safecity.inventory.profiles import DeviceProfile
from safecity.provision.camera_state import (
    CameraDesiredState,
    CameraState,
    StreamSpec,
    UserSpec,
    diff_camera_state,
)
from safecity.provision.result import MASK, Change, Result

ResolveAddress = Callable[[str], tuple[str, int]]


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class CameraTarget:
    """Where the device is now and how to sign in.

    ``address`` is its real (deployment) address as recorded; ``host``/``port`` is where it is
    reached from here (the same address in the field; a loopback address in the lab).
    ``credentials`` are tried in order (inventory/vault first), then the profile's factory
    account; an inactive device is activated with the desired admin password.

    ``expect_mac`` (the inventory's MAC) makes the run confirm the box's identity: over the
    vendor API right after sign-in, over ONVIF before anything else changes, and again after
    an address change, where the serial must also be the one seen before the move. A box that
    differs is a ``WrongDevice`` failure (used by staging, where boxes share one address)."""

    name: str
    address: str
    host: str
    port: int
    profile: DeviceProfile
    credentials: tuple[Credentials, ...] = ()
    timeout: float = 5.0
    expect_mac: str | None = None


def normal_mac(mac: str) -> str:
    """``44:19:B6:…`` / ``4419b6…`` / ``44-19-…`` → ``4419b6…`` (what the inventory stores)."""
    return mac.strip().lower().replace(":", "").replace("-", "")


class _Stop(Exception):
    """Check mode cannot read further (device inactive or ONVIF off): report what is known."""


class _Run:
    def __init__(self, target: CameraTarget, desired: CameraDesiredState, check_mode: bool,
                 resolve: ResolveAddress, move_timeout: float) -> None:
        b = target.profile.behaviour
        if b is None:
            raise DeviceRejected(target.name, "profile",
                                 f"{target.profile.key} has no vendor behaviour data")
        self.t, self.d, self.check, self.resolve = target, desired, check_mode, resolve
        self.b = b
        self.move_timeout = move_timeout
        self.host, self.port, self.address = target.host, target.port, target.address
        self.diff: list[Change] = []
        self.evidence: dict[str, object] = {"address": target.address}
        self.warnings: list[str] = []
        self.login: Credentials | None = None
        self.vendor_login: Credentials | None = None
        self.act: ActivationPlugin | None = None
        self.gb: Gb28181Plugin | None = None
        self.applying = False  # set before the first write: a later failure may leave changes
        self.opened: list[OnvifClient] = []
        self.serial: str | None = None  # as read before any address change

    # ---- helpers ------------------------------------------------------------------------
    def _endpoint(self) -> VendorEndpoint:
        return VendorEndpoint(self.t.name, self.host, self.port, timeout=self.t.timeout)

    def _client(self, creds: Credentials | None, host: str | None = None,
                port: int | None = None) -> OnvifClient:
        """A new (unopened) client; every client is closed when the run ends, whatever happens."""
        client = OnvifClient(self.t.name, host or self.host, port or self.port,
                             creds.username if creds else None,
                             creds.password if creds else None, timeout=self.t.timeout,
                             http_auth=self.b.onvif.http_auth, media=self.b.onvif.media)
        self.opened.append(client)
        return client

    def _candidates(self) -> list[Credentials]:
        out = list(self.t.credentials)
        f = self.b.factory
        if f.default_password is not None:
            out.append(Credentials(f.default_username, f.default_password))
        out.append(Credentials(self.d.admin.username, self.d.admin.password))
        unique: list[Credentials] = []
        for c in out:
            if c not in unique:
                unique.append(c)
        return unique

    async def close_all(self) -> None:
        for client in self.opened:
            await client.close()
        for p in (self.act, self.gb):
            if p is not None:
                await p.close()

    # ---- locate ---------------------------------------------------------------------------
    async def locate(self) -> None:
        """Find the device: its recorded address, else (a half-done move) its planned one."""
        try:
            async with self._client(None):
                return
        except DeviceUnreachable as first:
            planned = self.d.network.ip
            if planned == self.t.address:
                raise
            host, port = self.resolve(planned)
            try:
                async with self._client(None, host, port):
                    pass
            except DeviceUnreachable:
                raise first from None
            self.host, self.port, self.address = host, port, planned
            self.evidence["address"] = planned
            self.warnings.append(f"found at the planned address {planned}, not at "
                                 f"{self.t.address}: a previous address change went through")

    # ---- vendor API: activation, ONVIF enablement and the ONVIF admin account ---------------
    async def vendor_prepare(self) -> None:
        self.act = activation_plugin(self.b.activation, self._endpoint(),
                                     separate_onvif_users=self.b.onvif.separate_users)
        if not self.act.supported:
            return
        admin = self.d.admin
        if not await self.act.is_active():
            self.diff.append(Change("activation", "inactive", "active"))
            if self.check:
                raise _Stop("device is not activated: nothing else can be read yet")
            self.applying = True
            await self.act.activate(admin.password)
            self.vendor_login = Credentials(self.b.factory.default_username, admin.password)
            self.act.set_credentials(self.vendor_login.username, admin.password)
            self.evidence["activated"] = True
        else:
            for creds in self._candidates():
                self.act.set_credentials(creds.username, creds.password)
                if await self.act.check_credentials():
                    self.vendor_login = creds
                    break
            else:
                raise AuthFailed(self.t.name, "vendor API login",
                                 f"none of {len(self._candidates())} credential sets accepted")
        ident = await self.act.identity() if self.t.expect_mac else None
        if ident is not None:
            self._confirm_identity(*ident, where=self.address)
        await self._rotate_vendor_admin()
        if not self.b.onvif.separate_users:
            return
        if not await self.act.onvif_enabled():
            self.diff.append(Change("onvif.enabled", False, True))
            if not self.check:
                self.applying = True
                await self.act.enable_onvif()
        names = {u.username for u in await self.act.onvif_users()}
        if admin.username not in names:
            self.diff.append(Change(f"users.{admin.username}", None,
                                    {"level": admin.level, "password": MASK}))
            if not self.check:
                self.applying = True
                await self.act.ensure_onvif_user(admin.username, admin.password, admin.level)
        if self.check and self.diff:
            raise _Stop("ONVIF is off or has no administrator yet: ONVIF settings unread")

    def _confirm_identity(self, serial: str, mac: str, *, where: str) -> None:
        """The box at ``where`` must be the inventory's (MAC) and, after a move, the same box
        as before it (serial)."""
        expect = self.t.expect_mac
        if expect is None:
            return
        seen = {"mac": normal_mac(mac), "serial": serial}
        if seen["mac"] != normal_mac(expect) or (self.serial is not None and serial != self.serial):
            want = f"MAC {normal_mac(expect)}" + (f", serial {self.serial}" if self.serial else "")
            raise WrongDevice(self.t.name, "identity",
                              f"the device at {where} is MAC {seen['mac'] or '?'}, serial "
                              f"{serial or '?'}, not this device ({want}); it is not recorded "
                              f"as moved")
        self.serial = self.serial or serial
        self.evidence["identity"] = seen

    async def _rotate_vendor_admin(self) -> None:
        """The vendor API's own (web) administrator gets the vault password too: it is a
        separate account from the ONVIF one on separate-user vendors. Confirmed by signing in
        with the new password and being refused with the old one."""
        login, want = self.vendor_login, self.d.admin.password
        assert self.act is not None and login is not None
        if login.password == want:
            return
        self.diff.append(Change(f"vendor_users.{login.username}.password", MASK, MASK))
        if self.check:
            return
        self.applying = True
        await self.act.rotate_admin_password(login.username, login.password, want)
        self.act.set_credentials(login.username, login.password)
        old_refused = not await self.act.check_credentials()
        self.act.set_credentials(login.username, want)
        if not (await self.act.check_credentials() and old_refused):
            raise VerificationFailed(self.t.name, "vendor API admin password",
                                     "the device did not take the new password")
        self.vendor_login = Credentials(login.username, want)
        self.evidence["vendor_admin_rotated"] = True

    # ---- ONVIF sign-in ------------------------------------------------------------------
    async def onvif_login(self) -> OnvifClient:
        admin = Credentials(self.d.admin.username, self.d.admin.password)
        candidates = self._candidates()
        if self.b.onvif.separate_users:  # the ONVIF list holds the admin we just ensured
            candidates = [admin] + [c for c in candidates if c != admin]
        for creds in candidates:
            client = self._client(creds)
            try:
                await client.open()
                await client.get_hostname()  # an authenticated call proves the credentials
            except AuthFailed:
                await client.close()
                continue
            except BaseException:
                await client.close()
                raise
            self.login = creds
            return client
        if self.b.onvif.separate_users and self.act is not None and not self.check:
            # The ONVIF admin exists with another password: set it over the vendor API.
            self.applying = True
            await self.act.ensure_onvif_user(admin.username, admin.password, "Administrator",
                                             reset_password=True)
            self.diff.append(Change(f"users.{admin.username}.password", MASK, MASK))
            client = self._client(admin)
            await client.open()
            await client.get_hostname()
            self.login = admin
            return client
        raise AuthFailed(self.t.name, "ONVIF login",
                         f"none of {len(candidates)} credential sets accepted")

    # ---- read -----------------------------------------------------------------------------
    async def _password_ok(self, user: UserSpec) -> bool:
        if self.login is not None and user.username == self.login.username:
            return user.password == self.login.password
        try:
            async with self._client(Credentials(user.username, user.password)) as probe:
                await probe.get_device_information()
        except AuthFailed:
            return False
        return True

    async def read(self, client: OnvifClient) -> tuple[CameraState, dict[str, str]]:
        """The device state, and the encoder token of every "<channel>:main|sub" key."""
        dtime = await client.get_system_date_and_time()
        ntp = await client.get_ntp()
        dns = await client.get_dns()
        users = {u.username: u.level for u in await client.get_users()}
        passwords = {u.username: await self._password_ok(u)
                     for u in self.d.users if u.username in users}
        encoders: dict[str, StreamSpec] = {}
        tokens: dict[str, str] = {}
        for p in await client.get_profiles():
            if p.encoder is not None:
                e = p.encoder
                encoders[p.key] = StreamSpec(e.codec, e.resolution, e.fps, e.bitrate_kbps, e.gop)
                tokens[p.key] = e.token
        nics = await client.get_network_interfaces()
        if not nics:
            raise DeviceError(self.t.name, "GetNetworkInterfaces", "no network interface")
        gateways = await client.get_default_gateway()
        gb = None
        if self.d.gb28181 is not None:
            if self.gb is None:
                self.gb = gb28181_plugin(self.b.gb28181_api, self._endpoint())
            elif (self.gb.endpoint.host, self.gb.endpoint.port) != (self.host, self.port):
                await self.gb.close()  # the device moved: talk to it where it is now
                self.gb = gb28181_plugin(self.b.gb28181_api, self._endpoint())
            if not self.gb.supported:
                self.warnings.append(f"{self.t.name}: GB/T 28181 settings: not supported by "
                                     f"this vendor profile (gb28181_api: none); configure them"
                                     f" by hand or through the vendor's platform")
            else:
                login = self.vendor_login or self.login
                assert login is not None
                self.gb.set_credentials(login.username, login.password)
                gb = await self.gb.read_settings()
        self.evidence["clock_offset_s"] = round(dtime.offset_s, 1)
        self.evidence["interface_token"] = nics[0].interface_token
        state = CameraState(
            hostname=await client.get_hostname(), timezone=dtime.timezone, ntp_enabled=dtime.ntp,
            ntp_servers=ntp.servers, dns_servers=dns.servers, users=users,
            user_passwords_ok=passwords, encoders=encoders,
            discoverable=await client.get_discovery_mode(), address=nics[0].address,
            prefix=nics[0].prefix_length, gateway=gateways[0] if gateways else "", gb28181=gb)
        return state, tokens

    # ---- apply ----------------------------------------------------------------------------
    async def apply(self, client: OnvifClient, changes: list[Change],
                    tokens: dict[str, str]) -> OnvifClient:
        touched = {c.setting.split(".", 1)[0] for c in changes}
        d = self.d
        self.applying = True
        if "time" in touched:
            if d.ntp_servers:
                await client.set_ntp(d.ntp_servers)
            await client.set_system_date_and_time(ntp=bool(d.ntp_servers), timezone=d.timezone)
        if "hostname" in touched:
            await client.set_hostname(d.hostname)
        if "dns_servers" in touched:
            await client.set_dns(d.dns_servers)
        if "users" in touched:
            client = await self._apply_users(client, changes)
        for key, want in d.encoders.items():
            if not any(c.setting.startswith(f"encoders.{key}") for c in changes):
                continue
            token = tokens.get(key)
            if token is None:
                raise DeviceRejected(self.t.name, f"encoder {key}",
                                     "the device has no such stream")
            options = await client.get_video_encoder_configuration_options(token)
            problem = options.problem(want.codec, want.resolution, want.fps, want.bitrate_kbps,
                                      want.gop)
            if problem:
                raise DeviceRejected(self.t.name, f"encoder {key}", problem)
            await client.set_video_encoder_configuration(
                token, codec=want.codec, width=want.width, height=want.height, fps=want.fps,
                bitrate_kbps=want.bitrate_kbps, gop=want.gop)
        if "discoverable" in touched:
            await client.set_discovery_mode(d.discoverable)
        if "gb28181" in touched and self.gb is not None and d.gb28181 is not None:
            await self.gb.apply_settings(d.gb28181, send_password=True)
        return await self._apply_network(client, changes)

    async def _apply_users(self, client: OnvifClient, changes: list[Change]) -> OnvifClient:
        settings = {c.setting for c in changes}
        create = [u for u in self.d.users if f"users.{u.username}" in settings]
        if create:
            await client.create_users([NewUser(u.username, u.password, u.level) for u in create])
        for u in self.d.users:
            level_change = f"users.{u.username}.level" in settings
            pw_change = f"users.{u.username}.password" in settings
            if level_change or pw_change:
                await client.set_user(u.username, u.level, u.password if pw_change else None)
        remove = [n for n in self.d.remove_users if f"users.{n}" in settings]
        if remove:
            admin = self.d.admin
            if client.username in remove:  # never delete the account we are signed in with
                await client.close()
                client = self._client(Credentials(admin.username, admin.password))
                await client.open()
                self.login = Credentials(admin.username, admin.password)
            await client.delete_users(remove)
        if self.login is not None and client.username == self.login.username and \
                self.login.username == self.d.admin.username:
            self.login = Credentials(self.d.admin.username, self.d.admin.password)
        return client

    async def _apply_network(self, client: OnvifClient, changes: list[Change]) -> OnvifClient:
        settings = {c.setting for c in changes}
        net = self.d.network
        moving = "network.address" in settings
        if "network.gateway" in settings and not moving:
            await client.set_default_gateway([net.gateway] if net.gateway else [])
        if not moving and "network.prefix" not in settings:
            return client
        token = str(self.evidence.get("interface_token", ""))
        reboot = await client.set_network_interfaces(token, net.ip, net.prefix)
        if reboot:
            await client.system_reboot()
        await client.close()
        if not moving:
            client = self._client(self.login)
            await client.open()
            return client
        self.evidence["address_change"] = {"from": self.address, "to": net.ip, "confirmed": False}
        client = await self._find_after_move(net.ip)
        self.host, self.port, self.address = client.host, client.port, net.ip
        self.evidence["address"] = net.ip
        self.evidence["address_change"] = {"from": self.t.address, "to": net.ip,
                                           "confirmed": True}
        if "network.gateway" in settings:
            await client.set_default_gateway([net.gateway] if net.gateway else [])
        return client

    async def _find_after_move(self, new_ip: str) -> OnvifClient:
        host, port = self.resolve(new_ip)
        deadline = time.monotonic() + self.move_timeout
        while True:
            client = self._client(self.login, host, port)
            try:
                await client.open()
                if self.t.expect_mac:  # whoever answers there must be the box that moved
                    info = await client.get_device_information()
                    nics = await client.get_network_interfaces()
                    self._confirm_identity(info.serial, nics[0].mac if nics else "",
                                           where=new_ip)
                return client
            except DeviceUnreachable:
                await client.close()
                if time.monotonic() >= deadline:
                    break
                await asyncio.sleep(0.2)
        raise DeviceUnreachable(
            self.t.name, "network",
            f"no answer at the new address {new_ip} within {self.move_timeout:g} s; the "
            f"device's recorded address stays {self.address} (not confirmed moved)")

    # ---- the whole run ----------------------------------------------------------------------
    async def execute(self) -> Result:
        await self.locate()
        try:
            await self.vendor_prepare()
        except _Stop as stop:
            self.warnings.append(f"{self.t.name}: check mode: {stop}")
            return self.result(changed=bool(self.diff))
        client = await self.onvif_login()
        try:
            info = await client.get_device_information()
            self.evidence["device"] = {"model": info.model, "serial": info.serial,
                                       "firmware": info.firmware}
            if self.t.expect_mac:
                nics = await client.get_network_interfaces()
                self._confirm_identity(info.serial, nics[0].mac if nics else "",
                                       where=self.address)
            current, tokens = await self.read(client)
            changes = diff_camera_state(current, self.d)
            self.diff.extend(changes)
            if self.check or not self.diff:
                return self.result(changed=bool(self.diff))
            client = await self.apply(client, changes, tokens)
            await client.close()
            # Re-read through a fresh session, signed in as the desired administrator.
            self.login = Credentials(self.d.admin.username, self.d.admin.password)
            client = self._client(self.login)
            await client.open()
            after, _ = await self.read(client)
            left = diff_camera_state(after, self.d)
            if left:
                raise VerificationFailed(self.t.name, "verify", "still different after apply: "
                                         + "; ".join(c.setting for c in left))
            main = next((p for p in await client.get_profiles() if p.key == "1:main"), None)
            if main is not None:
                self.evidence["stream_uri"] = await client.get_stream_uri(main.token)
            return self.result(changed=True)
        finally:
            await client.close()

    def result(self, *, changed: bool, error: DeviceError | None = None) -> Result:
        return Result(self.t.name, changed=changed, diff=list(self.diff), failed=error is not None,
                      error=str(error) if error is not None else None,
                      evidence=dict(self.evidence), warnings=list(self.warnings))


def _identity(port: int) -> ResolveAddress:
    return lambda ip: (ip, port)


async def apply_camera_state(target: CameraTarget, desired: CameraDesiredState, *,
                             check_mode: bool, secrets_mask: bool = True,
                             resolve_address: ResolveAddress | None = None,
                             move_timeout: float = 30.0) -> Result:
    """Bring one device to ``desired``; never raises for a device problem (see ``Result``).

    ``resolve_address(real_ip) -> (host, port)`` says where a device with that address is
    reached (identity in the field; the lab's loopback map in tests). ``secrets_mask`` must
    stay True: results never carry secrets (the argument exists for the batch layer's API)."""
    if not secrets_mask:
        raise ValueError("secrets are never placed in results; secrets_mask cannot be False")
    try:
        run = _Run(target, desired, check_mode, resolve_address or _identity(target.port),
                   move_timeout)
    except DeviceError as e:
        return Result(target.name, failed=True, error=str(e), evidence={"address": target.address})
    try:
        return await run.execute()
    except DeviceError as e:
        # Whatever may have been applied before the failure is reported, never hidden.
        return run.result(changed=run.applying, error=e)
    finally:
        await run.close_all()


__all__ = ["CameraTarget", "Credentials", "ResolveAddress", "apply_camera_state"]

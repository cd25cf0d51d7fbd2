"""The address a guest-carts bucket counts: normalised with ``ipaddress`` (pure; no database)."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cart_common.address import bucket_address


@pytest.mark.parametrize(
    ("text", "bucket"),
    [
        ("198.51.100.7", "198.51.100.7"),
        (" 198.51.100.7 ", "198.51.100.7"),
        ("::ffff:198.51.100.7", "198.51.100.7"),
        ("::FFFF:c633:6407", "198.51.100.7"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:0DB8:0001:0002:0000:0000:0000:0001", "2001:db8:1:2::/64"),
        ("fe80::1%eth0", "fe80::/64"),
        ("::1", "::/64"),
    ],
)
def test_an_address_is_counted_as_ipv4_or_its_ipv6_64(text: str, bucket: str) -> None:
    assert bucket_address(text) == bucket


@pytest.mark.parametrize(
    "text",
    ["", "localhost", "198.51.100.7:443", "[2001:db8::1]", "198.51.100.7/32", "198.051.100.7", "1.2.3",
     "198.51.100.7, 198.51.100.8", "\uff11.\uff12.\uff13.\uff14", "2001:db8::1%" + "x" * 80, None],
)  # fmt: skip
def test_anything_but_one_ip_address_is_no_address(text: str | None) -> None:
    assert bucket_address(text) is None


@given(address=st.ip_addresses())
def test_every_spelling_of_an_address_shares_its_bucket_which_contains_it(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> None:
    spellings = {str(address), address.exploded, address.exploded.upper(), address.compressed}
    (bucket,) = {bucket_address(text) for text in spellings}
    assert bucket is not None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is None:
        network = ipaddress.IPv6Network(bucket)
        assert network.prefixlen == 64 and address in network
    else:
        assert bucket == str(address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else address)


@given(text=st.text(max_size=100))
def test_any_text_is_an_address_or_none_never_an_error(text: str) -> None:
    bucket = bucket_address(text)
    assert bucket is None or ipaddress.ip_network(bucket)

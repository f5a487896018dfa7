"""Cart checkout: one 20-item cart against 20 single checkouts of the same items.

Below HTTP, on the stores bootstrap() builds (SQLite files, then PostgreSQL), with the
same five uploads (cubes of 15 to 35 mm, analysed before any clock starts) and the same
20 distinct choices (4 per upload: material, copies, infill), shipped to one PIN:

* ours: ``CartCheckout.place`` of the 20 items: each upload session read once, each item
  quoted without shipping, the parcel's shipping priced once, and all 20 orders saved in
  one transaction;
* baseline: ``Checkout.place`` of each item alone (what a client without a cart does):
  a session read, a quote with its own shipping and one transaction per order.

Neither side uses an Idempotency-Key or a coupon. Rounds alternate which side goes first;
each round times R carts and R x 20 single checkouts, and the reported ratio is the
median of the per-round ratios (single checkouts' time / carts' time; goal >= 3).
Full size: 7 rounds of R = 10; --quick: 3 rounds of R = 3.
"""

from __future__ import annotations

from collections.abc import Callable

from application.cart_checkout import CartCheckout, CartItem, CartRequest
from application.checkout import CheckoutRequest
from benchmarks.support import (
    Options,
    PgTarget,
    Result,
    alternating,
    fmt_rate,
    main_with_postgres,
    median,
    on_both_stores,
    print_table,
    section,
    timed,
)
from infra.bootstrap import Container
from tests.support.factories import cube_stl

BENCH = "cart"
GOAL = 3.0
CUSTOMER = "bench-cart-customer"
SIZES_MM = (15.0, 20.0, 25.0, 30.0, 35.0)
CHOICES = (("PLA", 1, 20.0), ("PETG", 2, 20.0), ("PLA", 1, 40.0), ("PLA", 3, 15.0))
ADDRESS = {
    "name": "Asha Rao",
    "phone": "+91 98450 00000",
    "address": "14, 2nd Cross, Indiranagar 1st Stage",
    "city": "Bengaluru",
    "state": "Karnataka",
    "zip": "560038",
}


def sizes(quick: bool) -> tuple[int, int]:
    """(rounds, carts per round)."""
    return (3, 3) if quick else (7, 10)


def cart_items(container: Container) -> list[CartItem]:
    """The 20 items: four choices of each of five uploads (analysed here, untimed)."""
    sessions = [
        container.checkout.upload(CUSTOMER, cube_stl(size), f"part-{size:g}mm.stl").session_id
        for size in SIZES_MM
    ]
    return [
        CartItem(material, None, quantity, infill, session_id=session)
        for session in sessions
        for material, quantity, infill in CHOICES
    ]


def cart_of(items: list[CartItem]) -> CartRequest:
    """The cart of the 20 items, shipped."""
    return CartRequest(
        customer_id=CUSTOMER,
        customer_email="bench@example.com",
        items=items,
        fulfillment="shipping",
        priority=False,
        shipping_address=ADDRESS,
        notes="",
    )


def single_of(item: CartItem) -> CheckoutRequest:
    """One item checked out alone, with the cart's shared choices."""
    return CheckoutRequest(
        customer_id=CUSTOMER,
        customer_email="bench@example.com",
        material=item.material,
        color=item.color,
        quantity=item.quantity,
        infill_pct=item.infill_pct,
        fulfillment="shipping",
        priority=False,
        shipping_address=ADDRESS,
        notes="",
        session_id=item.session_id,
    )


def measure(backend: str, container: Container, opts: Options) -> list[Result]:
    """Alternating rounds of carts and single checkouts on one backend; the summary row."""
    rounds, reps = sizes(opts.quick)
    section(f"Cart checkout on {backend}")
    items = cart_items(container)
    carts = CartCheckout(container.checkout)
    request = cart_of(items)
    singles = [single_of(item) for item in items]

    def cart_run() -> None:
        for _ in range(reps):
            placed = carts.place(request)
            assert len(placed.orders) == len(items)

    def singles_run() -> None:
        for _ in range(reps):
            for single in singles:
                container.checkout.place(single)

    runs: dict[str, Callable[[], None]] = {"cart": cart_run, "singles": singles_run}
    for run in runs.values():  # warm-up: connections, caches, the shipping partners
        run()
    seconds: dict[str, list[float]] = {"cart": [], "singles": []}
    ratios: list[float] = []
    rows = []
    n = reps * len(items)
    for index, order in alternating(rounds, list(runs)):
        spent = {}
        for name in order:
            spent[name], _ = timed(runs[name])
            seconds[name].append(spent[name])
        ratios.append(spent["singles"] / spent["cart"])
        rows.append(
            [
                f"{index + 1} ({'/'.join(order)})",
                fmt_rate(n / spent["cart"]),
                fmt_rate(n / spent["singles"]),
                f"{ratios[-1]:.2f}",
            ]
        )
    result = Result(
        BENCH,
        backend,
        f"orders placed: {len(items)}-item cart vs singles",
        n / median(seconds["cart"]),
        n / median(seconds["singles"]),
        "/s",
        GOAL,
        f"median of {rounds} paired rounds of {reps} carts",
        median(ratios),
    )
    rows.append(["median", fmt_rate(result.ours), fmt_rate(result.baseline), f"{result.ratio:.2f}"])
    print_table(["round (order)", "cart", "single checkouts", "ratio"], rows, align="lrrr")
    return [result]


def run(options: Options, pg: PgTarget | None) -> list[Result]:
    """SQLite, then PostgreSQL when a server is available."""
    return on_both_stores(BENCH, measure, options, pg)


def main(argv: list[str] | None = None) -> None:
    """python -m benchmarks.bench_cart [--quick] [--pg-dsn URL] [--no-postgres]."""
    main_with_postgres(__doc__ or "", run, argv)


if __name__ == "__main__":
    main()

/*
 * Unit tests of the 16550A: registers and DLAB, output to the chardev,
 * receive FIFO and back-pressure, IIR priorities and THRE semantics,
 * loopback, line and modem status.
 */
#include "vmm/board/uart16550.h"

#include <string.h>

#include "lib/testing.h"

struct host {
	uint8_t out[64];
	size_t nout;
	int irq;
};

static void host_write(void *h, const uint8_t *buf, size_t len)
{
	struct host *x = h;
	for (size_t i = 0; i < len && x->nout < sizeof x->out; i++)
		x->out[x->nout++] = buf[i];
}

static void host_irq(void *h, unsigned line, int level)
{
	(void)line;
	((struct host *)h)->irq = level;
}

static void setup(struct uart16550 *u, struct host *h, struct chardev *cd)
{
	memset(h, 0, sizeof(*h));
	*cd = (struct chardev){ .write = host_write, .host = h };
	struct irq_line l = { host_irq, h, 10 };
	uart16550_init(u, &l, cd);
}

#define W(off, v) uart16550_ops.write(&u, (off), 1, (v))
#define R(off) ((uint8_t)uart16550_ops.read(&u, (off), 1))

TEST(uart_reset_values_and_scratch)
{
	struct host h;
	struct chardev cd;
	struct uart16550 u;
	setup(&u, &h, &cd);
	EXPECT_EQ(R(1), 0);        /* IER */
	EXPECT_EQ(R(2), 0x01);     /* IIR: nothing pending, no FIFO */
	EXPECT_EQ(R(5), 0x60);     /* LSR: THRE | TEMT */
	EXPECT_EQ(R(6), 0xb0);     /* MSR: DCD DSR CTS */
	W(7, 0xa5);
	EXPECT_EQ(R(7), 0xa5);
	EXPECT(cd.receive == uart16550_receive && cd.dev == &u);
	uart16550_destroy(&u);
}

TEST(uart_dlab_divisor_and_output)
{
	struct host h;
	struct chardev cd;
	struct uart16550 u;
	setup(&u, &h, &cd);
	W(3, 0x83);                /* DLAB, 8N1 */
	W(0, 0x01);
	W(1, 0x00);
	EXPECT_EQ(R(0), 1);
	EXPECT_EQ(R(1), 0);
	W(3, 0x03);
	EXPECT_EQ(R(3), 0x03);
	EXPECT_EQ(R(1), 0);        /* IER untouched by the DLM write */
	W(0, 'h');
	W(0, 'i');
	EXPECT_EQ(h.nout, 2);
	EXPECT(memcmp(h.out, "hi", 2) == 0);
	EXPECT_EQ(h.irq, 0);       /* no interrupt enabled */
	uart16550_destroy(&u);
}

TEST(uart_thre_interrupt)
{
	struct host h;
	struct chardev cd;
	struct uart16550 u;
	setup(&u, &h, &cd);
	W(1, 0x02);                /* ETBEI: THR empty, so THRE arms at once */
	EXPECT_EQ(h.irq, 1);
	EXPECT_EQ(R(2), 0x02);     /* reading IIR acknowledges THRE */
	EXPECT_EQ(h.irq, 0);
	EXPECT_EQ(R(2), 0x01);
	W(1, 0x00);                /* the 8250 driver's THRE probe: off, on again */
	W(1, 0x02);
	EXPECT_EQ(R(2), 0x02);
	W(0, 'x');                 /* every transmitted byte re-arms it */
	EXPECT_EQ(h.irq, 1);
	W(1, 0x00);
	EXPECT_EQ(h.irq, 0);
	uart16550_destroy(&u);
}

TEST(uart_fifo_receive_backpressure_and_rx_interrupt)
{
	struct host h;
	struct chardev cd;
	struct uart16550 u;
	setup(&u, &h, &cd);
	/* FIFO off: one byte of holding register */
	EXPECT_EQ(cd.receive(cd.dev, (const uint8_t *)"ab", 2), 1);
	EXPECT_EQ(R(5) & 1, 1);
	W(1, 0x01);                /* ERBFI */
	EXPECT_EQ(h.irq, 1);
	EXPECT_EQ(R(2), 0x04);
	EXPECT_EQ(R(0), 'a');
	EXPECT_EQ(h.irq, 0);
	EXPECT_EQ(R(5) & 1, 0);
	/* FIFO on, trigger level 4 */
	W(2, 0x41);
	EXPECT_EQ(R(2) & 0xc0, 0xc0);
	uint8_t buf[20];
	for (int i = 0; i < 20; i++)
		buf[i] = (uint8_t)('A' + i);
	EXPECT_EQ(cd.receive(cd.dev, buf, 2), 2);
	EXPECT_EQ(R(2), 0xcc);     /* below trigger: character timeout */
	EXPECT_EQ(cd.receive(cd.dev, buf + 2, 18), 14);   /* 16 bytes fit */
	EXPECT_EQ(R(2), 0xc4);     /* at/above trigger: data available */
	EXPECT_EQ(cd.receive(cd.dev, buf + 16, 4), 0);
	EXPECT_EQ(R(5) & 0x02, 0); /* refused, not overrun */
	for (int i = 0; i < 16; i++)
		EXPECT_EQ(R(0), 'A' + i);
	EXPECT_EQ(R(5) & 1, 0);
	EXPECT_EQ(h.irq, 0);
	/* FCR clear-RX */
	cd.receive(cd.dev, buf, 3);
	W(2, 0x43);
	EXPECT_EQ(R(5) & 1, 0);
	uart16550_destroy(&u);
}

TEST(uart_loopback_overrun_and_modem_status)
{
	struct host h;
	struct chardev cd;
	struct uart16550 u;
	setup(&u, &h, &cd);
	W(4, 0x10);                /* LOOP, all modem outputs low */
	EXPECT_EQ(R(6), 0x0b);     /* CTS DSR DCD dropped: deltas set, RI was low */
	EXPECT_EQ(R(6), 0x00);     /* deltas clear on read */
	W(4, 0x1f);
	EXPECT_EQ(R(6) & 0xf0, 0xf0);
	W(4, 0x1b);                /* OUT1 falls: RI trailing edge */
	EXPECT_EQ(R(6) & 0x0f, 0x04);
	W(0, 'q');                 /* loopback: to the receiver, not the host */
	EXPECT_EQ(h.nout, 0);
	EXPECT_EQ(R(5) & 1, 1);
	EXPECT_EQ(cd.receive(cd.dev, (const uint8_t *)"z", 1), 0);   /* input waits */
	W(0, 'r');                 /* FIFO off: the holding register is full */
	EXPECT_EQ(R(5) & 0x02, 0x02);
	EXPECT_EQ(R(5) & 0x02, 0); /* OE clears on read */
	W(1, 0x04);                /* ELSI: an overrun now interrupts */
	W(0, 's');
	EXPECT_EQ(h.irq, 1);
	EXPECT_EQ(R(2), 0x06);
	EXPECT_EQ(R(5) & 0x02, 0x02);
	EXPECT_EQ(h.irq, 0);
	EXPECT_EQ(R(0), 'q');
	W(1, 0x08);                /* EDSSI */
	W(4, 0x13);
	EXPECT_EQ(h.irq, 1);
	EXPECT_EQ(R(2), 0x00);
	(void)R(6);
	EXPECT_EQ(h.irq, 0);
	uart16550_reset(&u);
	EXPECT_EQ(R(4), 0);
	EXPECT_EQ(R(6), 0xb0);
	uart16550_destroy(&u);
}

TEST(uart_quiesced_holds_host_input_until_resume)
{
	struct host h;
	struct chardev cd;
	struct uart16550 u;
	setup(&u, &h, &cd);
	W(1, 0x01);                /* ERBFI */
	uart16550_device.quiesce(&u);
	EXPECT_EQ(cd.receive(cd.dev, (const uint8_t *)"a", 1), 0);
	EXPECT_EQ(h.irq, 0);
	EXPECT_EQ(R(5) & 1, 0);
	uart16550_device.resume(&u);
	EXPECT_EQ(cd.receive(cd.dev, (const uint8_t *)"a", 1), 1);
	EXPECT_EQ(h.irq, 1);
	uart16550_destroy(&u);
}

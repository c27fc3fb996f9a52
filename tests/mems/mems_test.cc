// Tests of the mems allocators: the segment allocator (MeMS model), the pool
// allocator and the error handling of both. Most tests also read the
// structures through mems_layout.h, as a debugger would, and every test ends
// with mems_check_invariants().
#include <gtest/gtest.h>

#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <future>
#include <ostream>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

extern "C" {
#include "mems.h"
}

// Comparison and printing of the C stats structs (global, so ADL finds them).
bool operator==(const mems_stats &a, const mems_stats &b) { return std::memcmp(&a, &b, sizeof a) == 0; }
bool operator==(const mems_pool_stats &a, const mems_pool_stats &b) { return std::memcmp(&a, &b, sizeof a) == 0; }
void PrintTo(const mems_stats &s, std::ostream *os) {
    *os << "{pages " << s.pages << ", nodes " << s.nodes << ", segments " << s.segments << ", process "
        << s.process_segments << "/" << s.process_bytes << ", holes " << s.hole_segments << "/" << s.hole_bytes
        << "}";
}
void PrintTo(const mems_pool_stats &s, std::ostream *os) {
    *os << "{arenas " << s.arenas << ", pools " << s.pools << ", blocks used " << s.blocks_used << ", free "
        << s.blocks_free << ", bytes used " << s.bytes_used << "}";
}

namespace {

using std::uintptr_t;

uintptr_t A(const void *p) { return reinterpret_cast<uintptr_t>(p); }
void *V(uintptr_t a) { return reinterpret_cast<void *>(a); }
template <class T>
T *At(uint64_t addr) { return reinterpret_cast<T *>(static_cast<uintptr_t>(addr)); }

size_t PageSize() { return static_cast<size_t>(sysconf(_SC_PAGESIZE)); }

std::string Invariants() {
    char err[512];
    return mems_check_invariants(err, sizeof err) == 0 ? std::string("ok") : std::string(err);
}

struct Seg {
    uint32_t type;
    uint64_t vstart, size;
    bool operator==(const Seg &) const = default;
};
constexpr uint32_t kHole = MEMS_SEGMENT_HOLE;
constexpr uint32_t kProc = MEMS_SEGMENT_PROCESS;

std::vector<const mems_node *> Nodes() {
    std::vector<const mems_node *> out;
    for (uint64_t n = mems_root.head; n != 0; n = At<mems_node>(n)->next) out.push_back(At<mems_node>(n));
    return out;
}

std::vector<Seg> Segments(size_t node_index) {
    std::vector<Seg> out;
    auto nodes = Nodes();
    if (node_index >= nodes.size()) return out;
    for (uint64_t s = nodes[node_index]->seg_head; s != 0; s = At<mems_segment>(s)->next) {
        const mems_segment *seg = At<mems_segment>(s);
        out.push_back({seg->type, seg->vstart, seg->size});
    }
    return out;
}

const mems_segment *SegmentAt(uintptr_t v) {
    for (const mems_node *node : Nodes())
        for (uint64_t s = node->seg_head; s != 0; s = At<mems_segment>(s)->next) {
            const mems_segment *seg = At<mems_segment>(s);
            if (v >= seg->vstart && v < seg->vstart + seg->size) return seg;
        }
    return nullptr;
}

mems_stats Stats() {
    mems_stats st{};
    EXPECT_EQ(mems_get_stats(&st), 0);
    return st;
}

mems_pool_stats PoolStats() {
    mems_pool_stats st{};
    EXPECT_EQ(mems_pool_get_stats(&st), 0);
    return st;
}


// Runs f with stderr captured and checks it printed exactly one "mems: " line
// containing `needle`.
template <class F>
void ExpectOneError(F f, const std::string &needle) {
    testing::internal::CaptureStderr();
    f();
    std::string out = testing::internal::GetCapturedStderr();
    EXPECT_EQ(out.rfind("mems: ", 0), 0u) << out;
    EXPECT_NE(out.find(needle), std::string::npos) << "expected '" << needle << "' in: " << out;
    EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
}

uint64_t Align16(uint64_t n) { return (n + 15) / 16 * 16; }

// Frees a pool block and gives the thread's cached blocks back to their
// pools, for tests that look at the pools' own structures after a free.
int FreeToPool(void *p) {
    int rc = mems_pool_free(p);
    EXPECT_EQ(mems_pool_flush(), 0);
    return rc;
}

const mems_pool_header *PoolOf(const void *p) {
    return reinterpret_cast<const mems_pool_header *>(A(p) & ~uintptr_t{MEMS_POOL_SIZE - 1});
}

class MemsTest : public ::testing::Test {
  protected:
    void SetUp() override { ASSERT_EQ(mems_init(), 0); }
    void TearDown() override {
        EXPECT_EQ(Invariants(), "ok");
        EXPECT_EQ(mems_finish(), 0);
    }
};

// ---- root and address space --------------------------------------------------

TEST(MemsRoot, StaticIdentityAndInitFlag) {
    EXPECT_EQ(mems_root.magic, MEMS_ROOT_MAGIC);
    EXPECT_EQ(std::memcmp(&mems_root.magic, "MeMSroot", 8), 0);
    EXPECT_EQ(mems_root.layout_version, 2u);
    EXPECT_EQ(mems_root.root_size, sizeof(mems_root));
    ASSERT_EQ(mems_root.initialized, 0u);
    ASSERT_EQ(mems_init(), 0);
    EXPECT_EQ(mems_root.initialized, 1u);
    EXPECT_EQ(mems_root.page_size, PageSize());
    EXPECT_EQ(mems_root.busy, 0u);
    ASSERT_EQ(mems_finish(), 0);
    EXPECT_EQ(mems_root.initialized, 0u);
    EXPECT_EQ(mems_root.magic, MEMS_ROOT_MAGIC);
    EXPECT_EQ(Invariants(), "ok");
}

TEST_F(MemsTest, VirtualAddressesStartAt1000AndNodesAreConsecutive) {
    void *a = mems_malloc(100);
    EXPECT_EQ(A(a), 1000u);
    void *big = mems_malloc(PageSize() * 3);  // does not fit the first node's hole
    auto nodes = Nodes();
    ASSERT_EQ(nodes.size(), 2u);
    EXPECT_EQ(nodes[0]->vstart, 1000u);
    EXPECT_EQ(nodes[1]->vstart, 1000u + nodes[0]->length);
    EXPECT_EQ(A(big), nodes[1]->vstart);
    EXPECT_EQ(nodes[1]->prev, A(nodes[0]));
    EXPECT_EQ(nodes[0]->next, A(nodes[1]));
    EXPECT_EQ(mems_root.head, A(nodes[0]));
    EXPECT_EQ(mems_root.tail, A(nodes[1]));
}

// ---- segment allocator -------------------------------------------------------

TEST_F(MemsTest, SplittingMakesProcessAndHole) {
    const uint64_t page = PageSize();
    void *a = mems_malloc(100);
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(Segments(0), (std::vector<Seg>{{kProc, 1000, 112}, {kHole, 1112, page - 112}}));
    mems_stats st = Stats();
    EXPECT_EQ(st.pages, 1u);
    EXPECT_EQ(st.nodes, 1u);
    EXPECT_EQ(st.segments, 2u);
    EXPECT_EQ(st.process_segments, 1u);
    EXPECT_EQ(st.process_bytes, 112u);
    EXPECT_EQ(st.hole_segments, 1u);
    EXPECT_EQ(st.hole_bytes, page - 112);
    const mems_segment *seg = SegmentAt(A(a));
    ASSERT_NE(seg, nullptr);
    EXPECT_EQ(seg->requested, 100u);
    EXPECT_EQ(seg->pstart, Nodes()[0]->pstart);
    // a second allocation splits the remaining hole again
    void *b = mems_malloc(33);
    EXPECT_EQ(A(b), 1112u);
    EXPECT_EQ(Segments(0),
              (std::vector<Seg>{{kProc, 1000, 112}, {kProc, 1112, 48}, {kHole, 1160, page - 160}}));
}

TEST_F(MemsTest, FirstFitTakesTheFirstHoleThatFits) {
    void *a = mems_malloc(64), *b = mems_malloc(64), *c = mems_malloc(256), *d = mems_malloc(64);
    void *e = mems_malloc(512);
    ASSERT_TRUE(a && b && c && d && e);
    ASSERT_EQ(mems_free(a), 0);
    ASSERT_EQ(mems_free(c), 0);
    // 200 bytes do not fit a's 64-byte hole: the first that fits is c's
    EXPECT_EQ(mems_malloc(200), c);
    // 48 bytes fit a's hole, which comes first
    EXPECT_EQ(mems_malloc(48), a);
    // 16 more bytes fit the rest of a's hole (the first hole again)
    EXPECT_EQ(A(mems_malloc(16)), A(a) + 48);
    // 64 bytes do not fit what is left of c's hole (256 - 208 = 48): they go
    // to the hole after e
    EXPECT_EQ(A(mems_malloc(56)), A(e) + 512);
    EXPECT_EQ(Stats().nodes, 1u);
}

TEST_F(MemsTest, FreeMergesWithBothNeighbours) {
    const uint64_t page = PageSize();
    void *a = mems_malloc(100), *b = mems_malloc(200), *c = mems_malloc(300), *d = mems_malloc(400);
    ASSERT_TRUE(a && b && c && d);
    ASSERT_EQ(mems_free(a), 0);
    ASSERT_EQ(mems_free(c), 0);
    EXPECT_EQ(Stats().hole_segments, 3u);  // a, c, tail
    EXPECT_EQ(Stats().segments, 5u);
    ASSERT_EQ(mems_free(b), 0);  // merges a + b + c
    EXPECT_EQ(Segments(0), (std::vector<Seg>{{kHole, 1000, 112 + 208 + 304},
                                             {kProc, 1000 + 624, 400},
                                             {kHole, 1000 + 1024, page - 1024}}));
    EXPECT_EQ(Nodes()[0]->segment_count, 3u);
    EXPECT_EQ(Nodes()[0]->hole_count, 2u);
    ASSERT_EQ(mems_free(d), 0);  // merges with both: one hole covers the node
    EXPECT_EQ(Segments(0), (std::vector<Seg>{{kHole, 1000, page}}));
    mems_stats st = Stats();
    EXPECT_EQ(st.segments, 1u);
    EXPECT_EQ(st.hole_bytes, page);
    EXPECT_EQ(st.process_segments, 0u);
    EXPECT_EQ(st.process_bytes, 0u);
    EXPECT_EQ(st.pages, 1u);  // nodes stay mapped until mems_finish
}

TEST_F(MemsTest, FreeMergesWithNextOnlyAndPrevOnly) {
    void *a = mems_malloc(16), *b = mems_malloc(16), *c = mems_malloc(16);
    ASSERT_TRUE(a && b && c);
    ASSERT_EQ(mems_free(b), 0);
    ASSERT_EQ(mems_free(a), 0);  // next is the hole of b
    EXPECT_EQ(Segments(0)[0], (Seg{kHole, 1000, 32}));
    ASSERT_EQ(mems_free(c), 0);  // prev hole and next hole
    EXPECT_EQ(Segments(0).size(), 1u);
}

TEST_F(MemsTest, FreedSpaceIsReused) {
    void *a = mems_malloc(1000);
    void *b = mems_malloc(10);
    ASSERT_TRUE(a && b);
    mems_stats before = Stats();
    ASSERT_EQ(mems_free(a), 0);
    void *again = mems_malloc(1000);
    EXPECT_EQ(again, a);
    EXPECT_EQ(Stats(), before);
    for (int i = 0; i < 100; i++) {  // a churn in place never maps more
        void *p = mems_malloc(999);
        ASSERT_EQ(mems_free(p), 0);
    }
    EXPECT_EQ(Stats().pages, before.pages);
}

TEST_F(MemsTest, RequestsAreRoundedToWholePages) {
    const uint64_t page = PageSize();
    void *exact = mems_malloc(page);
    ASSERT_NE(exact, nullptr);
    EXPECT_EQ(Segments(0), (std::vector<Seg>{{kProc, 1000, page}}));  // no hole left
    void *over = mems_malloc(page + 1);
    ASSERT_NE(over, nullptr);
    auto nodes = Nodes();
    ASSERT_EQ(nodes.size(), 2u);
    EXPECT_EQ(nodes[1]->length, 2 * page);
    EXPECT_EQ(Segments(1), (std::vector<Seg>{{kProc, 1000 + page, page + 16}, {kHole, 1000 + 2 * page + 16, page - 16}}));
    EXPECT_EQ(Stats().pages, 3u);
    EXPECT_EQ(Stats().hole_bytes, page - 16);
    EXPECT_EQ(nodes[1]->pstart % page, 0u);
}

TEST_F(MemsTest, LargeRequestsSpanManyPages) {
    const uint64_t page = PageSize();
    const size_t size = 10 * 1024 * 1024 + 123;
    void *v = mems_malloc(size);
    ASSERT_NE(v, nullptr);
    const uint64_t pages = (Align16(size) + page - 1) / page;
    EXPECT_EQ(Stats().pages, pages);
    EXPECT_EQ(Nodes()[0]->length, pages * page);
    auto *p = static_cast<unsigned char *>(mems_get(v));
    ASSERT_NE(p, nullptr);
    std::memset(p, 0xA5, size);
    auto *last = static_cast<unsigned char *>(mems_get(V(A(v) + size - 1)));
    EXPECT_EQ(last, p + size - 1);
    EXPECT_EQ(*last, 0xA5);
    ASSERT_EQ(mems_free(v), 0);
    EXPECT_EQ(Stats().hole_bytes, pages * page);
}

TEST_F(MemsTest, GetTranslatesInteriorAddresses) {
    void *a = mems_malloc(1000), *b = mems_malloc(3000);
    ASSERT_TRUE(a && b);
    auto *pa = static_cast<unsigned char *>(mems_get(a));
    auto *pb = static_cast<unsigned char *>(mems_get(b));
    ASSERT_TRUE(pa && pb);
    EXPECT_EQ(A(pa) % 16, 0u);
    EXPECT_EQ(pb, pa + 1008);  // same node: physical layout follows virtual
    for (size_t k = 0; k < 1000; k++) ASSERT_EQ(mems_get(V(A(a) + k)), pa + k) << k;
    for (size_t k = 0; k < 3000; k += 7) ASSERT_EQ(mems_get(V(A(b) + k)), pb + k) << k;
    std::memset(pa, 1, 1000);
    std::memset(pb, 2, 3000);
    EXPECT_EQ(pa[999], 1);
    EXPECT_EQ(pb[0], 2);
}

__attribute__((noinline)) void *AllocateHere(size_t n) {
    void *p = mems_malloc(n);
    asm volatile("" ::: "memory");  // keep the call from becoming a tail call
    return p;
}

TEST_F(MemsTest, RecordsAllocationSiteAndSequence) {
    void *a = AllocateHere(10);
    void *b = mems_malloc(10);
    void *c = AllocateHere(10);
    const mems_segment *sa = SegmentAt(A(a)), *sb = SegmentAt(A(b)), *sc = SegmentAt(A(c));
    ASSERT_TRUE(sa && sb && sc);
    const uintptr_t fn = A(reinterpret_cast<void *>(&AllocateHere));
    EXPECT_GT(sa->site, fn);
    EXPECT_LT(sa->site, fn + 256);
    EXPECT_EQ(sa->site, sc->site);
    EXPECT_NE(sb->site, sa->site);
    EXPECT_EQ(sa->seq, 1u);
    EXPECT_EQ(sb->seq, 2u);
    EXPECT_EQ(sc->seq, 3u);
    ASSERT_EQ(mems_free(b), 0);
    void *d = mems_malloc(10);  // reuses b's place with a new number
    EXPECT_EQ(d, b);
    EXPECT_EQ(SegmentAt(A(d))->seq, 4u);
}

TEST_F(MemsTest, PrintStatsDescribesChains) {
    void *a = mems_malloc(100);
    mems_malloc(PageSize() * 2);
    ASSERT_EQ(mems_free(a), 0);
    mems_malloc(32);
    testing::internal::CaptureStdout();
    mems_print_stats();
    std::string out = testing::internal::GetCapturedStdout();
    EXPECT_NE(out.find("pages used: 3"), std::string::npos) << out;
    EXPECT_NE(out.find("main chain length: 2"), std::string::npos) << out;
    EXPECT_NE(out.find("sub-chain lengths: [2, 1]"), std::string::npos) << out;
    EXPECT_NE(out.find("unused memory (HOLE bytes): " + std::to_string(PageSize() - 32)), std::string::npos)
        << out;
    EXPECT_NE(out.find("PROCESS virtual [0x3e8, 0x408)"), std::string::npos) << out;
    EXPECT_NE(out.find("HOLE    virtual [0x408, "), std::string::npos) << out;
}

TEST_F(MemsTest, FinishUnmapsEverythingAndInitStartsOver) {
    void *a = mems_malloc(5000);
    ASSERT_NE(mems_pool_alloc(24), nullptr);
    const uint64_t node = Nodes()[0]->pstart, len = Nodes()[0]->length;
    const uint64_t meta = mems_root.meta_head, arena = At<mems_arena>(mems_root.arena_head)->pstart;
    unsigned char vec[4];
    ASSERT_EQ(mincore(V(node), 1, vec), 0);
    ASSERT_EQ(mems_finish(), 0);
    EXPECT_EQ(mincore(V(node), len, vec), -1);
    EXPECT_EQ(mincore(V(meta), 1, vec), -1);
    EXPECT_EQ(mincore(V(arena), 1, vec), -1);
    EXPECT_EQ(mems_root.head, 0u);
    EXPECT_EQ(mems_root.pages, 0u);
    EXPECT_EQ(mems_root.arenas, 0u);
    ASSERT_EQ(mems_init(), 0);
    EXPECT_EQ(mems_malloc(5000), a);  // virtual space restarts at 1000
}

TEST_F(MemsTest, MetadataStaysOutOfTheGlibcHeap) {
    std::vector<void *> w;
    w.reserve(4000);
    struct mallinfo2 start = mallinfo2();
    for (int i = 0; i < 2000; i++) w.push_back(mems_malloc(16 + i % 300));
    for (int i = 0; i < 2000; i++) w.push_back(mems_pool_alloc(1 + i % 512));
    for (int i = 0; i < 4000; i += 3) {
        if (i < 2000) mems_free(w[i]); else mems_pool_free(w[i]);
    }
    struct mallinfo2 end = mallinfo2();
    EXPECT_EQ(end.uordblks, start.uordblks);
    EXPECT_EQ(end.arena, start.arena);
    EXPECT_EQ(end.hblks, start.hblks);
    EXPECT_GT(mems_root.meta_pages, 10u);
}

// ---- threads -------------------------------------------------------------------

TEST_F(MemsTest, ThreadStress) {
    constexpr int kThreads = 4, kOps = 10000, kMaxLive = 64;
    std::vector<std::string> failures(kThreads);
    auto worker = [&](int t) {
        std::mt19937 rng(1234 + t);
        struct Live {
            void *v;      // segment: virtual address; pool: physical
            bool pool;
            size_t size;
        };
        std::vector<Live> live;
        const unsigned char mark = static_cast<unsigned char>(0x10 + t);
        auto bytes = [](const Live &l) {
            return static_cast<unsigned char *>(l.pool ? l.v : mems_get(l.v));
        };
        for (int op = 0; op < kOps; op++) {
            if (live.empty() || (live.size() < kMaxLive && rng() % 2)) {
                Live l;
                l.pool = rng() % 2;
                l.size = l.pool ? 1 + rng() % 512 : 1 + rng() % 3000;
                l.v = l.pool ? mems_pool_alloc(l.size) : mems_malloc(l.size);
                if (l.v == nullptr) { failures[t] = "allocation failed"; return; }
                std::memset(bytes(l), mark, l.size);
                live.push_back(l);
            } else {
                size_t i = rng() % live.size();
                Live l = live[i];
                unsigned char *p = bytes(l);
                for (size_t k = 0; k < l.size; k++)
                    if (p[k] != mark) { failures[t] = "data overwritten by another allocation"; return; }
                int rc = l.pool ? mems_pool_free(l.v) : mems_free(l.v);
                if (rc != 0) { failures[t] = "free failed"; return; }
                live[i] = live.back();
                live.pop_back();
            }
        }
        for (const Live &l : live) {
            if (l.pool) mems_pool_free(l.v); else mems_free(l.v);
        }
    };
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; t++) threads.emplace_back(worker, t);
    for (auto &th : threads) th.join();
    for (int t = 0; t < kThreads; t++) EXPECT_EQ(failures[t], "") << "thread " << t;
    EXPECT_EQ(Invariants(), "ok");
    mems_stats st = Stats();
    mems_pool_stats ps = PoolStats();
    EXPECT_EQ(ps.blocks_used, 0u);
    EXPECT_EQ(ps.pools, static_cast<size_t>(__builtin_popcountll(mems_root.kept_pools)));  // kept pools only
    EXPECT_EQ(ps.bytes_used, 0u);
    EXPECT_GE(ps.arenas, 1u);
    EXPECT_EQ(st.process_segments, ps.arenas);
    EXPECT_EQ(st.process_bytes, ps.arenas * MEMS_ARENA_SIZE);
    EXPECT_EQ(st.pages * PageSize(), st.process_bytes + st.hole_bytes);
    EXPECT_GT(mems_root.next_seq, 1000u);
    EXPECT_EQ(mems_root.busy, 0u);
}

// ---- bad calls -------------------------------------------------------------------

TEST(MemsBadCalls, EverythingBeforeInit) {
    ASSERT_EQ(mems_root.initialized, 0u);
    const uint64_t errors = mems_root.errors;
    ExpectOneError([] { EXPECT_EQ(mems_malloc(10), nullptr); }, "mems_malloc: allocator not initialized");
    ExpectOneError([] { EXPECT_EQ(mems_free(V(1000)), -1); }, "mems_free: allocator not initialized");
    ExpectOneError([] { EXPECT_EQ(mems_get(V(1000)), nullptr); }, "mems_get: allocator not initialized");
    ExpectOneError([] { mems_print_stats(); }, "mems_print_stats: allocator not initialized");
    ExpectOneError([] { mems_stats st; EXPECT_EQ(mems_get_stats(&st), -1); }, "mems_get_stats: allocator");
    ExpectOneError([] { EXPECT_EQ(mems_pool_alloc(8), nullptr); }, "mems_pool_alloc: allocator not init");
    int x = 0;
    ExpectOneError([&] { EXPECT_EQ(mems_pool_free(&x), -1); }, "mems_pool_free: allocator not init");
    ExpectOneError([] { mems_pool_stats st; EXPECT_EQ(mems_pool_get_stats(&st), -1); }, "mems_pool_get_stats");
    ExpectOneError([] { EXPECT_EQ(mems_finish(), -1); }, "mems_finish: allocator not initialized");
    EXPECT_EQ(mems_root.errors, errors + 9);
    EXPECT_EQ(mems_root.head, 0u);
    EXPECT_EQ(Invariants(), "ok");
}

TEST_F(MemsTest, DoubleInit) {
    void *a = mems_malloc(10);
    ExpectOneError([] { EXPECT_EQ(mems_init(), -1); }, "mems_init: already initialized");
    EXPECT_NE(mems_get(a), nullptr);  // the state survived
    EXPECT_EQ(Stats().process_segments, 1u);
}

class MemsBadSegmentCalls : public MemsTest {
  protected:
    void SetUp() override {
        MemsTest::SetUp();
        a_ = mems_malloc(100);
        b_ = mems_malloc(200);
        c_ = mems_malloc(300);
        ASSERT_EQ(mems_free(b_), 0);
        ASSERT_NE(mems_pool_alloc(40), nullptr);
        before_ = Stats();
        pool_before_ = PoolStats();
    }
    void ExpectUnchanged() {
        EXPECT_EQ(Stats(), before_);
        EXPECT_EQ(PoolStats(), pool_before_);
        EXPECT_EQ(Invariants(), "ok");
    }
    void *a_, *b_, *c_;
    mems_stats before_;
    mems_pool_stats pool_before_;
};

TEST_F(MemsBadSegmentCalls, MallocZero) {
    ExpectOneError([] { EXPECT_EQ(mems_malloc(0), nullptr); }, "mems_malloc: size 0 is not allowed");
    ExpectUnchanged();
}

TEST_F(MemsBadSegmentCalls, MallocTooLarge) {
    ExpectOneError([] { EXPECT_EQ(mems_malloc(SIZE_MAX), nullptr); }, "is too large");
    ExpectUnchanged();
    ExpectOneError([] { EXPECT_EQ(mems_malloc(SIZE_MAX - 20000), nullptr); }, "is too large");
    ExpectUnchanged();
    // representable but not mappable (more than the address space)
    ExpectOneError([] { EXPECT_EQ(mems_malloc(size_t{1} << 50), nullptr); }, "failed (out of memory)");
    ExpectUnchanged();
    EXPECT_EQ(mems_malloc(16), b_);  // still allocates normally
}

TEST_F(MemsBadSegmentCalls, FreeUnknownAddress) {
    ExpectOneError([] { EXPECT_EQ(mems_free(V(999)), -1); }, "is not in any node (unknown address)");
    ExpectOneError([] { EXPECT_EQ(mems_free(V(1000 + 1000000)), -1); }, "unknown address");
    int x;
    ExpectOneError([&] { EXPECT_EQ(mems_free(&x), -1); }, "unknown address");  // a physical address
    ExpectUnchanged();
}

TEST_F(MemsBadSegmentCalls, FreeInteriorAddress) {
    ExpectOneError([&] { EXPECT_EQ(mems_free(V(A(c_) + 16)), -1); }, "is interior to PROCESS segment");
    ExpectOneError([&] { EXPECT_EQ(mems_free(V(A(a_) + 99)), -1); }, "[0x3e8, 0x458), not its start");
    ExpectUnchanged();
}

TEST_F(MemsBadSegmentCalls, DoubleFree) {
    ExpectOneError([&] { EXPECT_EQ(mems_free(b_), -1); }, "lies in a HOLE");
    ExpectOneError([&] { EXPECT_EQ(mems_free(b_), -1); }, "(double free?)");
    ExpectUnchanged();
    ASSERT_EQ(mems_free(a_), 0);  // now a and b merged: a is free too
    before_ = Stats();
    ExpectOneError([&] { EXPECT_EQ(mems_free(a_), -1); }, "double free");
    ExpectUnchanged();
}

TEST_F(MemsBadSegmentCalls, FreeOfAPoolArena) {
    const mems_arena *arena = At<mems_arena>(mems_root.arena_head);
    ASSERT_NE(arena, nullptr);
    ExpectOneError([&] { EXPECT_EQ(mems_free(V(arena->vstart)), -1); }, "is a pool arena");
    ExpectUnchanged();
}

TEST_F(MemsBadSegmentCalls, GetUnmappedOrHole) {
    ExpectOneError([] { EXPECT_EQ(mems_get(V(999)), nullptr); }, "mems_get: virtual address 0x3e7 is not mapped");
    ExpectOneError([] { EXPECT_EQ(mems_get(V(mems_root.virt_next)), nullptr); }, "outside every node");
    ExpectOneError([&] { EXPECT_EQ(mems_get(b_), nullptr); }, "lies in a HOLE");
    ExpectOneError([&] { EXPECT_EQ(mems_get(V(A(c_) + 304)), nullptr); }, "HOLE");  // just past c
    EXPECT_NE(mems_get(V(A(c_) + 299)), nullptr);
    ExpectUnchanged();
}

TEST_F(MemsBadSegmentCalls, NullStatsAndNullFree) {
    ExpectOneError([] { EXPECT_EQ(mems_get_stats(nullptr), -1); }, "mems_get_stats: out is NULL");
    ExpectOneError([] { EXPECT_EQ(mems_pool_get_stats(nullptr), -1); }, "mems_pool_get_stats: out is NULL");
    testing::internal::CaptureStderr();
    EXPECT_EQ(mems_free(nullptr), 0);
    EXPECT_EQ(mems_pool_free(nullptr), 0);
    EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
    ExpectUnchanged();
}

// ---- pool allocator --------------------------------------------------------------

TEST_F(MemsTest, PoolServesAll32Classes) {
    std::vector<std::pair<void *, size_t>> blocks;
    std::set<uintptr_t> pools;
    uint64_t bytes = 0;
    for (unsigned cls = 0; cls < MEMS_POOL_CLASS_COUNT; cls++) {
        for (size_t size : {size_t{16} * cls + 1, size_t{16} * (cls + 1)}) {
            void *p = mems_pool_alloc(size);
            ASSERT_NE(p, nullptr) << size;
            EXPECT_EQ(A(p) % 16, 0u);
            const mems_pool_header *pool = PoolOf(p);
            EXPECT_EQ(pool->magic, MEMS_POOL_MAGIC);
            EXPECT_EQ(pool->class_index, cls) << size;
            EXPECT_EQ(pool->block_size, 16 * (cls + 1)) << size;
            EXPECT_EQ((A(p) - A(pool) - MEMS_POOL_HEADER_SIZE) % pool->block_size, 0u);
            std::memset(p, static_cast<int>(cls), size);
            blocks.push_back({p, size});
            pools.insert(A(pool));
            bytes += 16 * (cls + 1);
        }
    }
    EXPECT_EQ(pools.size(), 32u);  // one pool per class
    mems_pool_stats ps = PoolStats();
    EXPECT_EQ(ps.arenas, 1u);
    EXPECT_EQ(ps.pools, 32u);
    EXPECT_EQ(ps.blocks_used, 64u);
    EXPECT_EQ(ps.bytes_used, bytes);
    // blocks never overlap: every block still holds its class byte
    for (auto [p, size] : blocks) {
        const unsigned char expect = static_cast<unsigned char>((size - 1) / 16);
        for (size_t k = 0; k < size; k++) ASSERT_EQ(static_cast<unsigned char *>(p)[k], expect);
    }
    EXPECT_EQ(Invariants(), "ok");
    for (auto [p, size] : blocks) ASSERT_EQ(FreeToPool(p), 0);
    // every class keeps its emptied pool: USED, no block in use, all free
    ps = PoolStats();
    uint64_t capacity = 0;
    for (unsigned cls = 0; cls < MEMS_POOL_CLASS_COUNT; cls++)
        capacity += (MEMS_POOL_SIZE - MEMS_POOL_HEADER_SIZE) / (16 * (cls + 1));
    EXPECT_EQ(ps.pools, 32u);
    EXPECT_EQ(ps.blocks_used, 0u);
    EXPECT_EQ(ps.blocks_free, capacity);
    EXPECT_EQ(ps.bytes_used, 0u);
    EXPECT_EQ(ps.arenas, 1u);
    EXPECT_EQ(mems_root.kept_pools, 0xFFFFFFFFu);
    for (uintptr_t pool : pools) {
        EXPECT_EQ(At<mems_pool_header>(pool)->state, MEMS_POOL_STATE_USED);
        EXPECT_EQ(At<mems_pool_header>(pool)->used, 0u);
    }
}

TEST_F(MemsTest, PoolStatsCountBlocksAndPools) {
    const unsigned cap32 = (MEMS_POOL_SIZE - MEMS_POOL_HEADER_SIZE) / 32;  // 125
    std::vector<void *> v;
    for (unsigned i = 0; i < cap32 + 5; i++) v.push_back(mems_pool_alloc(24));  // class 1 (32 bytes)
    v.push_back(mems_pool_alloc(500));                                          // class 31
    mems_pool_stats ps = PoolStats();
    EXPECT_EQ(ps.arenas, 1u);
    EXPECT_EQ(ps.pools, 3u);
    EXPECT_EQ(ps.blocks_used, cap32 + 6);
    EXPECT_EQ(ps.blocks_free, (cap32 - 5) + (7 - 1));
    EXPECT_EQ(ps.bytes_used, (cap32 + 5) * 32u + 512u);
    // the arena is one PROCESS segment of the segment allocator
    mems_stats st = Stats();
    EXPECT_EQ(st.process_segments, 1u);
    EXPECT_EQ(st.process_bytes, MEMS_ARENA_SIZE);
    const mems_arena *arena = At<mems_arena>(mems_root.arena_head);
    const mems_segment *seg = At<mems_segment>(arena->segment);
    EXPECT_EQ(seg->flags, MEMS_SEGMENT_FLAG_ARENA);
    EXPECT_EQ(seg->size, MEMS_ARENA_SIZE);
    EXPECT_EQ(seg->pstart % MEMS_POOL_SIZE, 0u);
    EXPECT_EQ(mems_get(V(seg->vstart)), V(arena->pstart));
    EXPECT_EQ(arena->pools_carved, 3u);
    EXPECT_EQ(arena->pools_free, MEMS_POOLS_PER_ARENA - 3);
    // the first pool of class 1 is full and off the class list
    const mems_pool_header *first = PoolOf(v[0]);
    EXPECT_EQ(first->state, MEMS_POOL_STATE_FULL);
    EXPECT_EQ(first->used, cap32);
    EXPECT_EQ(mems_root.classes[1], A(PoolOf(v[cap32])));
    ASSERT_EQ(FreeToPool(v[3]), 0);  // a free makes it USED again
    EXPECT_EQ(first->state, MEMS_POOL_STATE_USED);
    EXPECT_EQ(PoolStats().blocks_free, (cap32 - 5) + 6 + 1);
    EXPECT_EQ(PoolStats().bytes_used, (cap32 + 4) * 32u + 512u);
}

TEST_F(MemsTest, PoolReusesFreedBlocks) {
    void *a = mems_pool_alloc(40);
    void *b = mems_pool_alloc(40);
    ASSERT_EQ(A(b), A(a) + 48);
    ASSERT_EQ(mems_pool_free(a), 0);
    EXPECT_EQ(mems_pool_alloc(33), a);  // same class, freed block first
    ASSERT_EQ(mems_pool_free(b), 0);
    ASSERT_EQ(mems_pool_free(a), 0);  // pool empties and is kept by its class
    EXPECT_EQ(PoolStats().pools, 1u);
    EXPECT_EQ(PoolStats().blocks_used, 0u);
    void *c = mems_pool_alloc(300);  // another class carves a new pool
    EXPECT_EQ(A(PoolOf(c)), A(PoolOf(a)) + MEMS_POOL_SIZE);
    EXPECT_EQ(mems_pool_alloc(40), a);  // the kept pool serves its class again
    EXPECT_EQ(At<mems_arena>(mems_root.arena_head)->pools_carved, 2u);
    ASSERT_EQ(mems_pool_free(a), 0);
    ASSERT_EQ(mems_pool_free(c), 0);
    // a churn over every class does not grow anything
    for (int i = 0; i < 1000; i++) {
        void *p = mems_pool_alloc(1 + i % 512);
        ASSERT_EQ(mems_pool_free(p), 0);
    }
    EXPECT_EQ(PoolStats().blocks_used, 0u);
    EXPECT_EQ(PoolStats().pools, 32u);
    EXPECT_EQ(At<mems_arena>(mems_root.arena_head)->pools_carved, 32u);
    for (int i = 0; i < 1000; i++) {
        void *p = mems_pool_alloc(1 + i % 512);
        ASSERT_EQ(mems_pool_free(p), 0);
    }
    EXPECT_EQ(At<mems_arena>(mems_root.arena_head)->pools_carved, 32u);  // no pool carved again
}

TEST_F(MemsTest, PoolEmptyPoolIsKeptOncePerClass) {
    // class 31 (512 bytes): 7 blocks per pool; fill three pools
    std::vector<void *> v;
    for (int i = 0; i < 21; i++) v.push_back(mems_pool_alloc(512));
    const mems_pool_header *p0 = PoolOf(v[0]), *p1 = PoolOf(v[7]), *p2 = PoolOf(v[14]);
    EXPECT_EQ(PoolStats().pools, 3u);
    EXPECT_EQ(mems_root.kept_pools, 0u);
    for (int i = 0; i < 7; i++) ASSERT_EQ(FreeToPool(v[i]), 0);  // p0 empties: kept
    EXPECT_EQ(p0->state, MEMS_POOL_STATE_USED);
    EXPECT_EQ(p0->used, 0u);
    EXPECT_EQ(mems_root.kept_pools, 1ull << 31);
    EXPECT_EQ(Invariants(), "ok");
    for (int i = 7; i < 14; i++) ASSERT_EQ(FreeToPool(v[i]), 0);  // p1 empties: back to the arena
    EXPECT_EQ(p1->state, MEMS_POOL_STATE_EMPTY);
    EXPECT_EQ(p0->state, MEMS_POOL_STATE_USED);
    mems_pool_stats ps = PoolStats();
    EXPECT_EQ(ps.pools, 2u);
    EXPECT_EQ(ps.blocks_used, 7u);
    EXPECT_EQ(ps.blocks_free, 7u);  // the kept pool's blocks are free blocks
    EXPECT_EQ(ps.bytes_used, 7u * 512);
    EXPECT_EQ(Invariants(), "ok");
    // an allocation takes a block of the kept pool, which stops being the kept one
    void *q = mems_pool_alloc(500);
    EXPECT_EQ(A(PoolOf(q)), A(p0));
    EXPECT_EQ(mems_root.kept_pools, 0u);
    EXPECT_EQ(Invariants(), "ok");
    // a double free into the kept pool is refused
    ASSERT_EQ(FreeToPool(q), 0);
    ExpectOneError([&] { EXPECT_EQ(mems_pool_free(q), -1); }, "is empty (double free?)");
    EXPECT_EQ(PoolStats().blocks_used, 7u);
    for (int i = 14; i < 21; i++) ASSERT_EQ(FreeToPool(v[i]), 0);
    EXPECT_EQ(p2->state, MEMS_POOL_STATE_EMPTY);
    EXPECT_EQ(PoolStats().pools, 1u);
    // the checker refuses a second kept pool and a wrong kept bit
    auto *mp0 = const_cast<mems_pool_header *>(p0);
    mems_root.kept_pools = 0;
    EXPECT_NE(Invariants().find("kept_pools"), std::string::npos) << Invariants();
    mems_root.kept_pools = 1ull << 31;
    mp0->used = 1;  // claims a block in use that its bitmap does not show
    EXPECT_NE(Invariants().find("bitmap"), std::string::npos) << Invariants();
    mp0->used = 0;
    EXPECT_EQ(Invariants(), "ok");
}

__attribute__((noinline)) void *PoolAllocateHere(size_t n) {
    void *p = mems_pool_alloc(n);
    asm volatile("" ::: "memory");
    return p;
}

TEST_F(MemsTest, PoolArenasComeAndGo) {
    // 512-byte blocks: 7 per pool, 448 per arena
    void *first = PoolAllocateHere(512);
    const mems_segment *seg = At<mems_segment>(At<mems_arena>(mems_root.arena_head)->segment);
    const uintptr_t fn = A(reinterpret_cast<void *>(&PoolAllocateHere));
    EXPECT_GT(seg->site, fn);
    EXPECT_LT(seg->site, fn + 256);
    std::vector<void *> v{first};
    for (int i = 1; i < 500; i++) v.push_back(mems_pool_alloc(512));
    EXPECT_EQ(PoolStats().arenas, 2u);
    EXPECT_EQ(Stats().process_segments, 2u);
    EXPECT_EQ(Invariants(), "ok");
    for (void *p : v) ASSERT_EQ(FreeToPool(p), 0);
    EXPECT_EQ(PoolStats().arenas, 1u);  // an empty arena is given back, the last one kept
    mems_stats st = Stats();
    EXPECT_EQ(st.process_segments, 1u);
    EXPECT_EQ(st.hole_bytes, st.pages * PageSize() - MEMS_ARENA_SIZE);
    EXPECT_EQ(mems_root.pool_map_count, At<mems_arena>(mems_root.arena_head)->pools_carved);
    // the released arena's hole serves the next arena
    const uint64_t pages = st.pages;
    for (int i = 0; i < 500; i++) v[i] = mems_pool_alloc(512);
    EXPECT_EQ(Stats().pages, pages);
    for (void *p : v) ASSERT_EQ(mems_pool_free(p), 0);
}

TEST_F(MemsTest, PoolRejectsBadSizes) {
    ExpectOneError([] { EXPECT_EQ(mems_pool_alloc(0), nullptr); }, "mems_pool_alloc: size 0 is not allowed");
    ExpectOneError([] { EXPECT_EQ(mems_pool_alloc(513), nullptr); }, "size 513 exceeds the largest block (512)");
    EXPECT_NE(mems_pool_alloc(512), nullptr);
    EXPECT_EQ(PoolStats().blocks_used, 1u);
}

TEST_F(MemsTest, PoolFreeOfBadPointers) {
    void *p = mems_pool_alloc(100);  // class 6, 112-byte blocks
    void *big = mems_pool_alloc(512);  // class 31: 7 blocks, 416 bytes of slack at the end
    void *q = mems_pool_alloc(100);
    ASSERT_TRUE(p && big && q);
    const mems_pool_stats ps = PoolStats();
    int on_stack = 0;
    ExpectOneError([&] { EXPECT_EQ(mems_pool_free(&on_stack), -1); }, "is not a pool block (outside every pool)");
    void *heap = std::malloc(64);
    ExpectOneError([&] { EXPECT_EQ(mems_pool_free(heap), -1); }, "outside every pool");
    std::free(heap);
    void *seg = mems_get(mems_malloc(64));
    const mems_stats st2 = Stats();
    ExpectOneError([&] { EXPECT_EQ(mems_pool_free(seg), -1); }, "outside every pool");
    ExpectOneError([&] { EXPECT_EQ(mems_pool_free(V(0x10)), -1); }, "outside every pool");  // wild
    // an uncarved pool of the arena
    const mems_arena *arena = At<mems_arena>(mems_root.arena_head);
    ExpectOneError([&] { EXPECT_EQ(mems_pool_free(V(arena->pstart + 40 * MEMS_POOL_SIZE + 96)), -1); },
                   "outside every pool");
    ExpectOneError([&] { EXPECT_EQ(mems_pool_free(V(A(p) + 8)), -1); }, "is not the start of a block");
    ExpectOneError([&] { EXPECT_EQ(mems_pool_free(V(A(PoolOf(p)) + 8)), -1); }, "points into the header");
    ExpectOneError([&] { EXPECT_EQ(mems_pool_free(V(A(PoolOf(big)) + 96 + 7 * 512)), -1); },
                   "is not the start of a block");  // tail slack
    ExpectOneError([&] { EXPECT_EQ(mems_pool_free(V(A(q) + 112)), -1); }, "is not allocated");  // never used
    EXPECT_EQ(Stats(), st2);
    EXPECT_EQ(PoolStats(), ps);
    EXPECT_EQ(Invariants(), "ok");
    ASSERT_EQ(mems_pool_free(p), 0);  // into the thread's cache
    ExpectOneError([&] { EXPECT_EQ(mems_pool_free(p), -1); }, "is not allocated: it is in a thread cache (double free?)");
    ASSERT_EQ(mems_pool_flush(), 0);  // now on its pool's free list
    ExpectOneError([&] { EXPECT_EQ(mems_pool_free(p), -1); }, "is not allocated (double free?)");
    ASSERT_EQ(FreeToPool(q), 0);  // pool of class 6 is empty now (kept)
    ExpectOneError([&] { EXPECT_EQ(mems_pool_free(q), -1); }, "is empty (double free?)");
    EXPECT_EQ(PoolStats().blocks_used, 1u);
    EXPECT_EQ(Invariants(), "ok");
}

// ---- thread caches ------------------------------------------------------------------

const mems_tcache *MyCache() {
    // the calling thread's cache is the newest one that holds `block`, or the
    // only one; tests below use one cache at a time unless they say otherwise
    return At<mems_tcache>(mems_root.tcache_head);
}

TEST_F(MemsTest, PoolThreadCacheHoldsFreedBlocksAsFree) {
    std::vector<void *> v;
    for (int i = 0; i < 20; i++) v.push_back(mems_pool_alloc(64));  // class 3
    ASSERT_EQ(mems_root.tcaches, 1u);
    const mems_tcache *tc = MyCache();
    EXPECT_EQ(tc->magic, MEMS_TCACHE_MAGIC);
    EXPECT_EQ(tc->thread, static_cast<uint64_t>(gettid()));
    // blocks come out in address order, the rest of each refill waits in the cache
    for (int i = 1; i < 20; i++) EXPECT_EQ(A(v[i]), A(v[i - 1]) + 64) << i;
    EXPECT_EQ(tc->count[3], (7 - 20 % 7) % 7);
    EXPECT_EQ(PoolStats().blocks_used, 20u);
    EXPECT_EQ(Invariants(), "ok");
    for (void *p : v) ASSERT_EQ(mems_pool_free(p), 0);
    // freed blocks wait in the cache (at most 14 per class), the rest went back
    const mems_pool_header *pool = PoolOf(v[0]);
    EXPECT_LE(tc->count[3], MEMS_TCACHE_SLOTS);
    EXPECT_GT(tc->count[3], 0u);
    EXPECT_EQ(tc->blocks, tc->count[3]);
    EXPECT_EQ(tc->bytes, tc->count[3] * 64u);
    EXPECT_EQ(pool->used, tc->count[3]);  // its pool still counts them
    mems_pool_stats ps = PoolStats();
    EXPECT_EQ(ps.blocks_used, 0u);  // but for the program they are free
    EXPECT_EQ(ps.bytes_used, 0u);
    EXPECT_EQ(ps.blocks_free, pool->capacity);
    EXPECT_EQ(mems_root.blocks_used, tc->blocks);
    EXPECT_EQ(Invariants(), "ok");
    // the last freed block is handed out first
    void *again = mems_pool_alloc(50);
    EXPECT_EQ(again, v.back());
    EXPECT_EQ(PoolStats().blocks_used, 1u);
    ASSERT_EQ(mems_pool_free(again), 0);
    ASSERT_EQ(mems_pool_flush(), 0);
    EXPECT_EQ(tc->blocks, 0u);
    EXPECT_EQ(pool->used, 0u);
    EXPECT_EQ(pool->state, MEMS_POOL_STATE_USED);  // kept
    EXPECT_EQ(PoolStats(), ps);
}

TEST_F(MemsTest, PoolBlocksFreedByAnotherThread) {
    constexpr int kBlocks = 3000;
    std::vector<void *> v(kBlocks);
    std::thread producer([&] {
        for (int i = 0; i < kBlocks; i++) {
            v[i] = mems_pool_alloc(1 + (i * 37) % 512);
            if (v[i] != nullptr) std::memset(v[i], 0x5a, 1 + (i * 37) % 512);
        }
    });
    producer.join();  // its cache went back to the pools when it exited
    EXPECT_EQ(mems_root.tcaches, 0u);
    for (void *p : v) ASSERT_NE(p, nullptr);
    EXPECT_EQ(PoolStats().blocks_used, static_cast<size_t>(kBlocks));
    EXPECT_EQ(mems_root.blocks_used, static_cast<uint64_t>(kBlocks));
    std::string in_consumer;
    mems_pool_stats during{};
    std::thread consumer([&] {
        for (void *p : v)
            if (mems_pool_free(p) != 0) {
                in_consumer = "free failed";
                return;
            }
        mems_pool_get_stats(&during);
        in_consumer = Invariants();
    });
    consumer.join();
    EXPECT_EQ(in_consumer, "ok");
    EXPECT_EQ(during.blocks_used, 0u);  // the consumer's cache counted as free
    EXPECT_EQ(during.bytes_used, 0u);
    EXPECT_EQ(mems_root.tcaches, 0u);
    EXPECT_EQ(mems_root.blocks_used, 0u);  // and given back when it exited
    mems_pool_stats after = PoolStats();
    EXPECT_EQ(after.blocks_used, 0u);
    // every block is back in its pool: only the kept empty pools remain
    EXPECT_EQ(after.pools, static_cast<size_t>(__builtin_popcountll(mems_root.kept_pools)));
    EXPECT_LE(after.blocks_free, during.blocks_free);
    EXPECT_EQ(Invariants(), "ok");
}

TEST_F(MemsTest, PoolDoubleFreeOfABlockInAnotherThreadsCache) {
    void *p = mems_pool_alloc(100);
    void *keep = mems_pool_alloc(100);
    ASSERT_TRUE(p && keep);
    std::promise<void> freed, done;
    std::thread other([&] {
        EXPECT_EQ(mems_pool_free(p), 0);  // into the other thread's cache
        freed.set_value();
        done.get_future().wait();
    });
    freed.get_future().wait();
    EXPECT_EQ(mems_root.tcaches, 2u);  // a thread that only frees gets a cache too
    const mems_pool_stats ps = PoolStats();
    EXPECT_EQ(ps.blocks_used, 1u);
    ExpectOneError([&] { EXPECT_EQ(mems_pool_free(p), -1); }, "it is in a thread cache (double free?)");
    EXPECT_EQ(PoolStats(), ps);
    EXPECT_EQ(Invariants(), "ok");
    done.set_value();
    other.join();
    EXPECT_EQ(mems_root.tcaches, 1u);
    EXPECT_EQ(PoolStats(), ps);
    // a block whose data happens to hold the cache key (word 1 of a cached
    // block) is still freed
    void *x = mems_pool_alloc(100);
    ASSERT_EQ(mems_pool_free(x), 0);
    const uint64_t key = static_cast<uint64_t *>(x)[1];
    EXPECT_NE(key, 0u);
    EXPECT_EQ(mems_pool_alloc(100), x);
    EXPECT_EQ(static_cast<uint64_t *>(x)[1], 0u);  // cleared when handed out
    static_cast<uint64_t *>(keep)[1] = key;
    ASSERT_EQ(mems_pool_free(keep), 0);
    ASSERT_EQ(mems_pool_free(x), 0);
    EXPECT_EQ(PoolStats().blocks_used, 0u);
    EXPECT_EQ(Invariants(), "ok");
}

TEST_F(MemsTest, PoolFinishDropsThreadCaches) {
    void *p = mems_pool_alloc(32);
    ASSERT_EQ(mems_pool_free(p), 0);
    ASSERT_EQ(mems_root.tcaches, 1u);
    ASSERT_EQ(mems_finish(), 0);
    EXPECT_EQ(mems_root.tcache_head, 0u);
    EXPECT_EQ(Invariants(), "ok");
    ExpectOneError([] { EXPECT_EQ(mems_pool_alloc(32), nullptr); }, "not initialized");
    ExpectOneError([&] { EXPECT_EQ(mems_pool_free(p), -1); }, "not initialized");
    ASSERT_EQ(mems_init(), 0);
    void *q = mems_pool_alloc(32);  // a new cache for the new heap
    ASSERT_NE(q, nullptr);
    EXPECT_EQ(mems_root.tcaches, 1u);
    EXPECT_EQ(PoolStats().blocks_used, 1u);
    ExpectOneError([&] { EXPECT_EQ(mems_pool_free(V(A(q) + 8)), -1); }, "is not the start of a block");
    ASSERT_EQ(mems_pool_free(q), 0);
}

TEST_F(MemsTest, CheckerFindsThreadCacheCorruption) {
    void *a = mems_pool_alloc(48);
    void *b = mems_pool_alloc(48);
    void *c = mems_pool_alloc(48);
    ASSERT_EQ(mems_pool_free(a), 0);
    ASSERT_EQ(mems_pool_free(b), 0);
    ASSERT_EQ(Invariants(), "ok");
    auto *tc = const_cast<mems_tcache *>(MyCache());
    const uint32_t n = tc->count[2];
    ASSERT_GE(n, 2u);
    const uint64_t saved = tc->slots[2][n - 1];
    tc->slots[2][n - 1] = tc->slots[2][n - 2];
    EXPECT_NE(Invariants().find("cached twice"), std::string::npos) << Invariants();
    tc->slots[2][n - 1] = A(c);  // a block the program holds
    EXPECT_NE(Invariants().find("cache key"), std::string::npos) << Invariants();
    tc->slots[2][n - 1] = saved;
    tc->blocks++;
    EXPECT_NE(Invariants().find("thread cache"), std::string::npos) << Invariants();
    tc->blocks--;
    EXPECT_EQ(Invariants(), "ok");
    ASSERT_EQ(mems_pool_free(c), 0);
}

// ---- the checker itself -------------------------------------------------------------

TEST_F(MemsTest, InvariantCheckerDetectsCorruption) {
    void *a = mems_malloc(100);
    void *b = mems_malloc(200);
    void *p = mems_pool_alloc(64);
    ASSERT_TRUE(a && b && p);
    ASSERT_EQ(Invariants(), "ok");

    mems_root.hole_bytes += 16;
    EXPECT_NE(Invariants().find("HOLE counters"), std::string::npos) << Invariants();
    mems_root.hole_bytes -= 16;

    auto *seg = const_cast<mems_segment *>(SegmentAt(A(b)));
    const uint64_t prev = seg->prev;
    seg->prev = 0;
    EXPECT_NE(Invariants().find("prev"), std::string::npos) << Invariants();
    seg->prev = prev;

    seg->type = MEMS_SEGMENT_HOLE;  // b becomes a hole next to the tail hole
    EXPECT_NE(Invariants(), "ok");
    seg->type = MEMS_SEGMENT_PROCESS;

    auto *pool = const_cast<mems_pool_header *>(PoolOf(p));
    pool->in_use[0] ^= 2;  // a second block claims to be used
    EXPECT_NE(Invariants().find("bitmap"), std::string::npos) << Invariants();
    pool->in_use[0] ^= 2;

    mems_root.blocks_free--;
    EXPECT_NE(Invariants().find("blocks_free"), std::string::npos) << Invariants();
    mems_root.blocks_free++;
    EXPECT_EQ(Invariants(), "ok");
}

}  // namespace

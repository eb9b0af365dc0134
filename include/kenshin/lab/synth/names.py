"""Synthetic Japanese names (氏名) with a realistic frequency skew.

The most common names and their relative frequencies come from faker's ja_JP
provider (`last_name_pairs` carries real counts; the given-name pairs carry
none). Common names after faker's top 50 are listed here, and a long tail of
plausible surnames and given names is composed from common elements, so a city
of 1.5 million has the name collisions of a real one without every second
person sharing a name. Composed readings are synthetic: plausible, not checked
against a real register.

Family and given names are kept apart (a table index each) so that marriage
changes only the family name; every string is encodable in CP932.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import jaconv
import numpy as np
from faker.providers.person.ja_JP import Provider as _Faker

# Surnames after faker's top 50, most common first (kanji, katakana reading).
# Names with two readings in the wild appear once per reading (読み方の揺れ).
_SURNAMES_MORE = """
中野 ナカノ|原田 ハラダ|小野 オノ|田村 タムラ|竹内 タケウチ|金子 カネコ|和田 ワダ|中山 ナカヤマ
石田 イシダ|上田 ウエダ|森田 モリタ|原 ハラ|柴田 シバタ|酒井 サカイ|工藤 クドウ|横山 ヨコヤマ
宮崎 ミヤザキ|宮本 ミヤモト|内田 ウチダ|高木 タカギ|安藤 アンドウ|谷口 タニグチ|大野 オオノ|丸山 マルヤマ
今井 イマイ|高田 タカダ|藤本 フジモト|武田 タケダ|村田 ムラタ|上野 ウエノ|杉山 スギヤマ|増田 マスダ
平野 ヒラノ|大塚 オオツカ|千葉 チバ|久保 クボ|松井 マツイ|小島 コジマ|岩崎 イワサキ|桜井 サクライ
野口 ノグチ|松尾 マツオ|野村 ノムラ|木下 キノシタ|菊地 キクチ|佐野 サノ|大西 オオニシ|杉本 スギモト
新井 アライ|浜田 ハマダ|菅原 スガワラ|市川 イチカワ|水野 ミズノ|小松 コマツ|島田 シマダ|古川 フルカワ
小山 コヤマ|高野 タカノ|西田 ニシダ|菊池 キクチ|山内 ヤマウチ|西川 ニシカワ|五十嵐 イガラシ|北村 キタムラ
安田 ヤスダ|中田 ナカタ|中田 ナカダ|川口 カワグチ|平田 ヒラタ|川崎 カワサキ|飯田 イイダ|吉川 ヨシカワ
本田 ホンダ|久保田 クボタ|沢田 サワダ|辻 ツジ|関 セキ|吉村 ヨシムラ|渡部 ワタナベ|岩田 イワタ
中西 ナカニシ|服部 ハットリ|樋口 ヒグチ|福島 フクシマ|川上 カワカミ|永井 ナガイ|松岡 マツオカ|田口 タグチ
山中 ヤマナカ|森本 モリモト|土屋 ツチヤ|矢野 ヤノ|広瀬 ヒロセ|秋山 アキヤマ|石原 イシハラ|松下 マツシタ
大橋 オオハシ|松浦 マツウラ|吉岡 ヨシオカ|小池 コイケ|馬場 ババ|浅野 アサノ|荒木 アラキ|大久保 オオクボ
野田 ノダ|小沢 オザワ|田辺 タナベ|川村 カワムラ|星野 ホシノ|黒田 クロダ|堀 ホリ|尾崎 オザキ
望月 モチヅキ|永田 ナガタ|熊谷 クマガイ|内藤 ナイトウ|松村 マツムラ|西山 ニシヤマ|大谷 オオタニ|平井 ヒライ
大島 オオシマ|岩本 イワモト|片山 カタヤマ|本間 ホンマ|早川 ハヤカワ|横田 ヨコタ|岡崎 オカザキ|荒井 アライ
大石 オオイシ|鎌田 カマタ|成田 ナリタ|宮田 ミヤタ|小田 オダ|石橋 イシバシ|篠原 シノハラ|須藤 スドウ
河野 コウノ|河野 カワノ|大沢 オオサワ|小西 コニシ|南 ミナミ|高山 タカヤマ|栗原 クリハラ|伊東 イトウ
松原 マツバラ|三宅 ミヤケ|福井 フクイ|大森 オオモリ|奥村 オクムラ|岡 オカ|内山 ウチヤマ|片岡 カタオカ
桑原 クワバラ|関口 セキグチ|北川 キタガワ|上村 ウエムラ|上村 カミムラ|菅野 カンノ|菅野 スガノ|角田 ツノダ
角田 カクタ|豊田 トヨダ|豊田 トヨタ|東海林 ショウジ|東海林 トウカイリン|山崎 ヤマサキ|中島 ナカシマ|渡邊 ワタナベ
"""

# Elements of composed surnames: head + tail, readings with the usual voicing.
_SURNAME_HEADS = (
    "山 ヤマ|中 ナカ|小 コ|大 オオ|石 イシ|松 マツ|岩 イワ|杉 スギ|竹 タケ|森 モリ|西 ニシ|東 ヒガシ"
    "|北 キタ|上 ウエ|下 シモ|前 マエ|吉 ヨシ|今 イマ|平 ヒラ|宮 ミヤ|古 フル|新 ニイ|長 ナガ|高 タカ"
    "|藤 フジ|福 フク|金 カネ|桜 サクラ|柳 ヤナギ|浅 アサ|青 アオ|白 シラ|黒 クロ|水 ミズ|秋 アキ"
    "|坂 サカ|菊 キク|梅 ウメ|深 フカ|細 ホソ|丸 マル|磯 イソ|飯 イイ|江 エ|堀 ホリ|藤 トウ"
)
_SURNAME_TAILS = (
    "田 ダ|川 カワ|村 ムラ|本 モト|山 ヤマ|野 ノ|原 ハラ|口 グチ|崎 ザキ|木 キ|島 ジマ|井 イ|沢 サワ"
    "|谷 タニ|内 ウチ|岡 オカ|瀬 セ|部 ベ|尾 オ|浦 ウラ|林 バヤシ|橋 ハシ|塚 ヅカ|地 チ|倉 クラ"
)

# Curated given names per (sex, birth cohort), most common first. Cohorts:
# 0 born before 1960, 1 born 1960-1989, 2 born 1990 or later.
_GIVEN = {
    ("M", 0): "清 キヨシ|茂 シゲル|博 ヒロシ|実 ミノル|勇 イサム|進 ススム|正 タダシ|勝 マサル|武 タケシ"
    "|隆 タカシ|修 オサム|昭 アキラ|和夫 カズオ|正男 マサオ|幸雄 ユキオ|秀夫 ヒデオ|義雄 ヨシオ|一郎 イチロウ"
    "|誠 マコト|豊 ユタカ|功 イサオ|三郎 サブロウ|健二 ケンジ|昭夫 アキオ|敏夫 トシオ|光男 ミツオ",
    ("M", 1): "誠 マコト|大輔 ダイスケ|健太 ケンタ|哲也 テツヤ|浩二 コウジ|剛 ツヨシ|達也 タツヤ|聡 サトシ"
    "|亮 リョウ|拓也 タクヤ|雅人 マサト|秀樹 ヒデキ|隆之 タカユキ|和彦 カズヒコ|慎一 シンイチ|克也 カツヤ"
    "|健 ケン|学 マナブ|賢治 ケンジ|直人 ナオト",
    ("M", 2): "蓮 レン|陽翔 ハルト|湊 ミナト|大翔 ヒロト|悠真 ユウマ|樹 イツキ|朝陽 アサヒ|颯太 ソウタ"
    "|悠人 ユウト|蒼 アオイ|律 リツ|大和 ヤマト|陸 リク|翔 ショウ|翔 カケル|拓海 タクミ|大輝 ダイキ"
    "|颯 ハヤテ|蒼空 ソラ|海斗 カイト|陽向 ヒナタ|奏太 カナタ|隼人 ハヤト|航 ワタル|駿 シュン|優 ユウ|優 マサル",
    ("F", 0): "和子 カズコ|幸子 サチコ|節子 セツコ|洋子 ヨウコ|恵子 ケイコ|京子 キョウコ|美智子 ミチコ"
    "|久美子 クミコ|典子 ノリコ|良子 ヨシコ|智子 トモコ|弘子 ヒロコ|文子 フミコ|悦子 エツコ|信子 ノブコ"
    "|光子 ミツコ|正子 マサコ|順子 ジュンコ|敏子 トシコ|静子 シズコ|春子 ハルコ|照子 テルコ|君子 キミコ",
    ("F", 1): "由美子 ユミコ|真由美 マユミ|直美 ナオミ|恵美 エミ|美穂 ミホ|智美 トモミ|由紀 ユキ|愛 アイ"
    "|恵 メグミ|裕美 ヒロミ|優子 ユウコ|真理子 マリコ|理恵 リエ|亜希子 アキコ|麻衣 マイ|彩 アヤ|沙織 サオリ"
    "|千尋 チヒロ|美香 ミカ|友美 トモミ",
    ("F", 2): "陽菜 ヒナ|結衣 ユイ|さくら サクラ|美咲 ミサキ|葵 アオイ|結菜 ユイナ|凛 リン|芽依 メイ|莉子 リコ"
    "|紬 ツムギ|杏 アン|楓 カエデ|美月 ミヅキ|彩花 アヤカ|七海 ナナミ|愛菜 マナ|優奈 ユウナ|心春 コハル"
    "|琴音 コトネ|ひまり ヒマリ|真央 マオ|遥 ハルカ|美優 ミユ|結愛 ユア|彩乃 アヤノ",
}
# faker's given names, placed in the cohort they are typical of.
_FAKER_COHORT = {
    "千代": 0, "花子": 0, "陽子": 0, "直子": 0, "くみ子": 0, "治": 0, "浩": 0, "晃": 0, "稔": 0,
    "太郎": 0, "充": 0, "明美": 1, "香織": 1, "加奈": 1, "さゆり": 1, "知実": 1, "裕美子": 1,
    "里佳": 1, "幹": 1, "美加子": 1, "真綾": 1, "舞": 1, "あすか": 1, "健一": 1, "和也": 1,
    "直樹": 1, "英樹": 1, "康弘": 1, "陽一": 1, "洋介": 1, "篤司": 1, "修平": 1, "淳": 1,
    "直人": 1, "智也": 1, "京助": 1, "聡太郎": 1, "学": 1,
}
# Composed given names: (heads, tails, cohorts). A head and a tail combine
# when they share a cohort; readings simply concatenate.
_GIVEN_PARTS = {
    "M": (
        # on-reading heads with on-style tails (健太 ケンタ, 陽介 ヨウスケ)
        ("健 ケン|大 ダイ|亮 リョウ|修 シュウ|浩 コウ|康 コウ|誠 セイ|英 エイ|翔 ショウ|悠 ユウ|雄 ユウ"
         "|俊 シュン|真 シン|賢 ケン|蒼 ソウ|颯 ソウ|瑛 エイ|航 コウ|優 ユウ|陽 ヨウ|光 コウ",
         "一 イチ 01|二 ジ 01|介 スケ 12|太 タ 12|平 ヘイ 12|斗 ト 2|輔 スケ 12|樹 キ 12|真 マ 2|希 キ 2"),
        # kun-reading heads with kun-style tails (和夫 カズオ, 浩之 ヒロユキ)
        ("和 カズ|正 マサ|秀 ヒデ|智 トモ|隆 タカ|浩 ヒロ|康 ヤス|英 ヒデ|裕 ヒロ|雅 マサ|直 ナオ|達 タツ"
         "|俊 トシ|信 ノブ|孝 タカ|光 ミツ|勝 カツ|清 キヨ|重 シゲ|邦 クニ|輝 テル|良 ヨシ|義 ヨシ|幸 ユキ"
         "|敏 トシ|博 ヒロ|晴 ハル|陽 ハル|悠 ハル",
         "夫 オ 0|雄 オ 0|男 オ 0|治 ハル 01|明 アキ 01|則 ノリ 01|之 ユキ 01|彦 ヒコ 01|也 ヤ 12|樹 キ 12"
         "|人 ト 12|斗 ト 2|希 キ 2|真 マ 2"),
    ),
    "F": (
        ("和 カズ|幸 サチ|節 セツ|洋 ヨウ|恵 ケイ|京 キョウ|典 ノリ|良 ヨシ|智 トモ|裕 ユウ|弘 ヒロ"
         "|文 フミ|悦 エツ|信 ノブ|光 ミツ|正 マサ|敏 トシ|久 ヒサ|静 シズ|春 ハル|照 テル|明 アキ|君 キミ"
         "|勝 カツ|清 キヨ|澄 スミ|美 ミ|千 チ|栄 エイ|貞 サダ|富 トミ|芳 ヨシ|秋 アキ",
         "子 コ 01|江 エ 0|枝 エ 0|代 ヨ 0"),
        ("美 ミ|由 ユ|真 マ|奈 ナ|千 チ|沙 サ|亜 ア|早 サ|友 トモ|理 リ|麻 マ|裕 ヒロ|直 ナオ|久 ク|明 アケ"
         "|彩 アヤ|優 ユウ|結 ユイ|咲 サキ|菜 ナ|莉 リ|心 ココ|花 ハナ|杏 アン|紗 サ|七 ナナ|未 ミ|琴 コト"
         "|芽 メ|実 ミ",
         "子 コ 1|美 ミ 1|香 カ 12|紀 キ 1|恵 エ 1|穂 ホ 12|里 リ 12|衣 イ 12|絵 エ 1|奈 ナ 12|菜 ナ 2"
         "|花 カ 2|乃 ノ 2|央 オ 2|帆 ホ 2|華 カ 2|希 キ 2|音 ネ 2|月 ツキ 2"),
    ),
}

# Variant kanji (異体字) a registry keeps when the family registered them.
VARIANT_KANJI = {"高": "髙", "崎": "﨑", "辺": "邉", "邊": "邉", "斎": "齋", "斉": "齊", "沢": "澤",
                 "浜": "濵", "島": "嶋", "広": "廣", "桜": "櫻"}
VARIANT_SHARE = 0.01       # share of all people whose family name carries a variant kanji
SATO_SHARE = 0.015         # 佐藤, the most common surname; composed names fill the tail
CURATED_GIVEN_SHARE = 0.4  # the rest of each cohort's mass goes to composed given names


def _pairs(text: str) -> list[list[str]]:
    return [item.split() for item in text.replace("\n", "|").split("|") if item.strip()]


def half_width(kana: str) -> str:
    """Half-width katakana (半角カナ) of a full-width reading; the separator
    becomes an ASCII space, as half-width registry systems print it."""
    return jaconv.z2h(kana, kana=True, ascii=False, digit=False).replace("\u3000", " ")


@dataclass
class NameTable:
    """Parallel lists of names: kanji, full-width kana and sampling weight."""

    kanji: list[str] = field(default_factory=list)
    kana: list[str] = field(default_factory=list)
    weight: list[float] = field(default_factory=list)

    def add(self, kanji: str, kana: str, weight: float) -> int:
        self.kanji.append(kanji)
        self.kana.append(kana)
        self.weight.append(weight)
        return len(self.kanji) - 1

    def probabilities(self) -> np.ndarray:
        w = np.asarray(self.weight, dtype=np.float64)
        return w / w.sum()

    def half(self) -> list[str]:
        return [half_width(k) for k in self.kana]


class Names:
    """Surname and given-name tables with their sampling distributions.

    Surnames: index into `surnames`; `variant_of[i]` is the index of the same
    name written with a variant kanji (or -1), `other_reading[i]` the index of
    the same kanji read differently (or -1). Given names: one table, sampled
    per (sex, cohort) through `given_p`.
    """

    def __init__(self) -> None:
        self.surnames = NameTable()
        self._build_surnames()
        self.given = NameTable()
        self.given_p: dict[tuple[int, int], np.ndarray] = {}
        self._build_given()

    # -- surnames -------------------------------------------------------------
    def _build_surnames(self) -> None:
        t = self.surnames
        faker = list(_Faker.last_name_pairs.items())
        total = faker[0][1] / SATO_SHARE  # the whole population, in faker's units
        seen: set[str] = set()
        for (kanji, kana, _romaji), count in faker:
            t.add(kanji, kana, float(count))
            seen.add(kanji)
        last = float(faker[-1][1])
        # continue the rank-frequency curve: ~0.23 % at rank 51 down to ~0.07 %
        for rank, (kanji, kana) in enumerate(_pairs(_SURNAMES_MORE)):
            t.add(kanji, kana, last * (1 + rank / 40) ** -0.9)
            seen.add(kanji)
        composed = [
            (hk + tk, hr + tr)
            for hk, hr in _pairs(_SURNAME_HEADS)
            for tk, tr in _pairs(_SURNAME_TAILS)
            if hk != tk and hk + tk not in seen
        ]
        each = (total - sum(t.weight)) / len(composed)
        for kanji, kana in composed:
            t.add(kanji, kana, each)
            seen.add(kanji)
        n_base = len(t.kanji)
        by_kanji: dict[str, list[int]] = {}
        for i in range(n_base):
            by_kanji.setdefault(t.kanji[i], []).append(i)
        self.other_reading = np.full(n_base, -1, dtype=np.int32)
        for rows in by_kanji.values():
            for a, b in zip(rows, rows[1:] + rows[:1], strict=True):
                if a != b:
                    self.other_reading[a] = b
        self.variant_of = np.full(n_base, -1, dtype=np.int32)
        for i in range(n_base):
            kanji = t.kanji[i]
            for standard, variant in VARIANT_KANJI.items():
                if standard in kanji:
                    self.variant_of[i] = t.add(kanji.replace(standard, variant, 1), t.kana[i], 0.0)
                    break
        self.other_reading = np.concatenate(
            [self.other_reading, np.full(len(t.kanji) - n_base, -1, dtype=np.int32)])
        self.variant_of = np.concatenate(
            [self.variant_of, np.full(len(t.kanji) - n_base, -1, dtype=np.int32)])
        self.surname_p = t.probabilities()
        eligible = self.surname_p[self.variant_of >= 0].sum()
        self.variant_rate = min(1.0, VARIANT_SHARE / eligible)
        self.surname_kana_half = t.half()

    def draw_surnames(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Family names for n new families, a few written with variant kanji."""
        idx = rng.choice(len(self.surname_p), size=n, p=self.surname_p).astype(np.int32)
        variant = self.variant_of[idx]
        use = (variant >= 0) & (rng.random(n) < self.variant_rate)
        idx[use] = variant[use]
        return idx

    # -- given names ----------------------------------------------------------
    def _build_given(self) -> None:
        t = self.given
        rows: dict[tuple[int, int], list[tuple[int, float]]] = {}
        index: dict[tuple[str, str], int] = {}

        def put(kanji: str, kana: str, key: tuple[int, int], weight: float) -> None:
            if (kanji, kana) not in index:
                index[(kanji, kana)] = t.add(kanji, kana, 0.0)
            rows.setdefault(key, []).append((index[(kanji, kana)], weight))

        for sex_code, sex in ((1, "M"), (2, "F")):
            faker_pairs = _Faker.first_name_male_pairs if sex == "M" else _Faker.first_name_female_pairs
            for cohort in (0, 1, 2):
                key = (sex_code, cohort)
                curated = _pairs(_GIVEN[(sex, cohort)])
                curated += [[k, r] for k, r, _ in faker_pairs if _FAKER_COHORT.get(k, 2) == cohort]
                zipf = np.arange(1, len(curated) + 1, dtype=np.float64) ** -0.5
                zipf *= CURATED_GIVEN_SHARE / zipf.sum()
                for (kanji, kana), w in zip(curated, zipf, strict=True):
                    put(kanji, kana, key, float(w))
                composed = []
                for heads, tails in _GIVEN_PARTS[sex]:
                    for tk, tr, cohorts in _pairs(tails):
                        if str(cohort) not in cohorts:
                            continue
                        for hk, hr in _pairs(heads):
                            if hk != tk and not (tr == "イ" and hr.endswith("イ")):
                                composed.append((hk + tk, hr + tr))
                each = (1 - CURATED_GIVEN_SHARE) / len(composed)
                for kanji, kana in composed:
                    put(kanji, kana, key, each)
        n = len(t.kanji)
        for key, items in rows.items():
            p = np.zeros(n)
            for i, w in items:
                p[i] += w
            self.given_p[key] = p / p.sum()
        self.given_kana_half = t.half()

    def draw_given(self, rng: np.random.Generator, sex: np.ndarray, birth_year: np.ndarray) -> np.ndarray:
        """Given names typical of each person's sex (1/2) and birth cohort."""
        cohort = np.where(birth_year < 1960, 0, np.where(birth_year < 1990, 1, 2))
        out = np.empty(len(sex), dtype=np.int32)
        for (s, c), p in self.given_p.items():
            sel = np.flatnonzero((sex == s) & (cohort == c))
            if len(sel):
                out[sel] = rng.choice(len(p), size=len(sel), p=p)
        return out

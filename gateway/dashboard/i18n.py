"""Dashboard labels in English and Japanese. Units stay kg and ppm in both."""

from __future__ import annotations

from collections.abc import Callable
from typing import get_args

from gateway.specs.reason_text import term
from junkan.core.traceability import StepIn

LANGS = ("en", "ja")

LABELS: dict[str, dict[str, str]] = {
    "app": {"en": "junkan plant dashboard", "ja": "循環 プラントダッシュボード"},
    "lines": {"en": "Lines", "ja": "ライン"},
    "lots": {"en": "Lots", "ja": "ロット"},
    "alarms": {"en": "Alarms", "ja": "アラーム"},
    "unmatched": {"en": "Unmatched products", "ja": "未照合の製品"},
    "login": {"en": "Log in", "ja": "ログイン"},
    "logout": {"en": "Log out", "ja": "ログアウト"},
    "token": {"en": "API token", "ja": "APIトークン"},
    "signed_in_as": {"en": "Signed in as", "ja": "ログイン中"},
    "open_mode": {"en": "open mode (loopback, no login)", "ja": "オープンモード（ローカルのみ・ログイン不要）"},
    "line": {"en": "Line", "ja": "ライン"},
    "agent": {"en": "Agent", "ja": "エージェント"},
    "device": {"en": "Device", "ja": "機器"},
    "devices": {"en": "Devices", "ja": "機器"},
    "state": {"en": "State", "ja": "状態"},
    "alive": {"en": "alive", "ja": "稼働中"},
    "stale": {"en": "stale", "ja": "応答なし"},
    "error": {"en": "error", "ja": "エラー"},
    "starting": {"en": "starting", "ja": "起動中"},
    "unavailable": {"en": "in use elsewhere", "ja": "他プロセス使用中"},
    "offline": {"en": "offline", "ja": "オフライン"},
    "online": {"en": "online", "ja": "オンライン"},
    "last_reading": {"en": "Last reading", "ja": "最終読取"},
    "frames_ok": {"en": "Frames OK", "ja": "正常フレーム"},
    "parse_errors": {"en": "Parse errors", "ja": "解析エラー"},
    "last_error": {"en": "Last error", "ja": "最終エラー"},
    "outbox": {"en": "Outbox backlog", "ja": "未送信件数"},
    "open_lot": {"en": "Open lot", "ja": "処理中ロット"},
    "no_open_lot": {"en": "No lot open", "ja": "処理中のロットなし"},
    "live_mass": {"en": "Live mass", "ja": "現在質量"},
    "net_mass": {"en": "Net mass", "ja": "正味質量"},
    "weighings": {"en": "Weighings", "ja": "計量回数"},
    "weighings_table": {"en": "Container weighings", "ja": "容器ごとの計量記録"},
    "ts": {"en": "Time", "ja": "時刻"},
    "tare": {"en": "Tare", "ja": "風袋"},
    "gross": {"en": "Gross", "ja": "総質量"},
    "net": {"en": "Net", "ja": "正味"},
    "close_operator": {"en": "by the operator", "ja": "オペレーターが終了"},
    "close_max_mass": {"en": "mass limit reached", "ja": "質量上限に到達"},
    "close_max_duration": {"en": "time limit reached", "ja": "時間上限に到達"},
    "close_shutdown": {"en": "agent shut down", "ja": "エージェント停止"},
    "missing": {"en": "no data from", "ja": "データなし"},
    "degraded": {"en": "impaired", "ja": "品質低下"},
    "lin_lot": {"en": "lot", "ja": "ロット"},
    "lin_step": {"en": "process step", "ja": "工程"},
    "lin_self": {"en": "this lot", "ja": "このロット"},
    "lin_bad": {"en": "step whose mass balance is violated (red outline)", "ja": "マスバランス違反の工程（赤枠）"},
    "lin_flow": {"en": "material flow, from inputs (top) to outputs", "ja": "物の流れ（上の投入から産出へ）"},
    "lin_mass": {"en": "mass of the flow (kg)", "ja": "流れの質量（kg）"},
    "zoom_in": {"en": "Zoom in", "ja": "拡大"},
    "zoom_out": {"en": "Zoom out", "ja": "縮小"},
    "zoom_fit": {"en": "Whole graph", "ja": "全体"},
    "zoom_hint": {"en": "Drag to move; Ctrl + wheel or the buttons to zoom.",
                  "ja": "ドラッグで移動、Ctrl＋ホイールまたはボタンで拡大縮小。"},
    "conf_conformant": {"en": "conformant", "ja": "適合"},
    "conf_non_conformant": {"en": "non-conformant", "ja": "不適合"},
    "screening": {"en": "Regulatory screening (POPs / RoHS BFR)",
                  "ja": "規制スクリーニング（POPs・RoHS 臭素系難燃剤）"},
    "screening_clear": {"en": "clear", "ja": "該当なし"},
    "screening_pops_suspect": {"en": "POPs suspect", "ja": "POPs 含有の疑い"},
    "screening_lab_confirmed": {"en": "cleared by lab", "ja": "分析で確認済み"},
    "screening_lab_failed": {"en": "lab: above limit", "ja": "分析結果: 基準超過"},
    "lab_confirmation": {"en": "Lab confirmation", "ja": "分析機関による確認"},
    "lab_pass": {"en": "pass", "ja": "合格"},
    "lab_fail": {"en": "fail", "ja": "不合格"},
    "lab_insufficient": {"en": "insufficient", "ja": "判定不能"},
    "lab_none": {"en": "No lab confirmation attached: recycled-content claims blocked until one (GC-MS, IEC 62321-6) "
                       "passes.",
                 "ja": "分析結果が未登録です。GC-MS（IEC 62321-6）の結果が合格するまで再生材含有の主張はできません。"},
    "ident_mismatch": {"en": "Camera identification disagrees with intake", "ja": "カメラ識別と受入記録の不一致"},
    "ident_expected": {"en": "Intake record", "ja": "受入記録"},
    "ident_seen": {"en": "Camera saw", "ja": "カメラ識別"},
    "claims_blocked": {"en": "Recycled-content claims blocked", "ja": "再生材含有の主張は不可"},
    "conf_insufficient_data": {"en": "insufficient data", "ja": "データ不足"},
    "detail_spec": {"en": "{element} mean {mean} / p95 {p95} ppm ≥ {limit} ppm",
                    "ja": "{element} 平均 {mean} / 95パーセンタイル {p95} ppm ≥ {limit} ppm"},
    "detail_balance": {"en": "in {input} kg, out {output} kg, declared losses {loss} kg: {unaccounted} kg "
                              "unaccounted ({share} % of the input; tolerance {tolerance} %)",
                       "ja": "投入 {input} kg、産出 {output} kg、申告損失 {loss} kg：不明分 {unaccounted} kg"
                             "（投入の {share} %、許容 {tolerance} %）"},
    "detail_outbox": {"en": "{depth} messages waiting, oldest {oldest} s",
                      "ja": "{depth} 件が未送信、最古 {oldest} 秒"},
    "scope_step": {"en": "step", "ja": "工程"},
    "scope_lot": {"en": "lot", "ja": "ロット"},
    "scope_period": {"en": "period", "ja": "期間"},
    "topic": {"en": "Topic", "ja": "トピック"},
    "composition_nav": {"en": "Records", "ja": "組成記録"},
    "composition_records": {"en": "Composition records (products)", "ja": "組成記録（製品）"},
    "composition_import_hint": {"en": "Import files through the API or the CLI:",
                                "ja": "ファイルの取込はAPIまたはCLIで："},
    "manufacturer": {"en": "Manufacturer", "ja": "製造者"},
    "category": {"en": "Category", "ja": "品目"},
    "mass": {"en": "Mass", "ja": "質量"},
    "source": {"en": "Source", "ja": "出所"},
    "specs": {"en": "Specs", "ja": "要求仕様"},
    "specs_edit_hint": {"en": "Create or change a spec through the API:", "ja": "仕様の作成・変更はAPIで："},
    "buyer": {"en": "Buyer", "ja": "購入者"},
    "material": {"en": "Material", "ja": "材料"},
    "min_purity": {"en": "Minimum purity", "ja": "最低純度"},
    "limits": {"en": "Limits", "ja": "上限値"},
    "report": {"en": "Recycled content", "ja": "再生材報告"},
    "period_start": {"en": "From", "ja": "開始日"},
    "period_end": {"en": "To", "ja": "終了日"},
    "show": {"en": "Show", "ja": "表示"},
    "bad_period": {"en": "Invalid period.", "ja": "期間が不正です。"},
    "balance": {"en": "Mass balance", "ja": "マスバランス"},
    "balance_ok": {"en": "balanced", "ja": "整合"},
    "balance_bad": {"en": "violation or negative balance", "ja": "違反または負の残高"},
    "supplied": {"en": "Supplied", "ja": "供給量"},
    "blocked": {"en": "Blocked", "ja": "保留量"},
    "dead_nav": {"en": "Rejected", "ja": "受信拒否"},
    "clear": {"en": "Clear", "ja": "解除"},
    "verdict": {"en": "Verdict", "ja": "判定"},
    "trends": {"en": "Trends", "ja": "推移"},
    "import_file": {"en": "Composition file (CSV, IPC-1752A, IEC 62474)",
                    "ja": "組成ファイル（CSV・IPC-1752A・IEC 62474）"},
    "import": {"en": "Import", "ja": "取込"},
    "spec_json": {"en": "Spec (JSON; an existing spec_id replaces it)", "ja": "仕様（JSON、既存のspec_idは置換）"},
    "save": {"en": "Save", "ja": "保存"},
    "edit": {"en": "Edit", "ja": "編集"},
    "saved": {"en": "saved", "ja": "保存しました"},
    "imported": {"en": "imported", "ja": "取込みました"},
    "bad_json": {"en": "not valid JSON", "ja": "JSONとして不正です"},
    "trends_note": {"en": "The last closed lots, oldest left; times in UTC. Points link to their lot.",
                    "ja": "直近の終了ロット（左が古い）、時刻はUTC。点はロットへのリンクです。"},
    "chart_purity": {"en": "{polymer} share by mass per lot, with its 95 % CI band ({n} lots)",
                     "ja": "ロットごとの{polymer}質量割合と95%信頼区間（{n}ロット）"},
    "chart_mass": {"en": "Net mass per lot (kg)", "ja": "ロットごとの正味質量（kg）"},
    "chart_throughput": {"en": "Throughput per hour (kg of closed lots)",
                         "ja": "1時間あたりの処理量（終了ロットのkg）"},
    "chart_contaminant": {"en": "{element} lot mean with 95 % CI (ppm); red line: limit {limit} ppm",
                          "ja": "{element} ロット平均と95%信頼区間（ppm）、赤線：上限 {limit} ppm"},
    "chart_liveness": {"en": "Devices per lot", "ja": "ロットごとの機器の状態"},
    "chart_outbox": {"en": "Outbox backlog now, per agent (messages)", "ja": "現在の未送信件数（エージェント別）"},
    "live_ok": {"en": "contributed", "ja": "データあり"},
    "live_degraded": {"en": "impaired", "ja": "品質低下"},
    "live_missing": {"en": "no data", "ja": "データなし"},
    "live_none": {"en": "not expected", "ja": "対象外"},
    "top_polymer": {"en": "Main polymer", "ja": "主成分"},
    "role_operator": {"en": "operator", "ja": "オペレーター"},
    "role_engineer": {"en": "engineer", "ja": "エンジニア"},
    "role_recycler": {"en": "recycler", "ja": "リサイクラー"},
    "role_admin": {"en": "admin", "ja": "管理者"},
    "act_open": {"en": "opened", "ja": "開始しました"},
    "act_close": {"en": "closed", "ja": "終了しました"},
    "not_found": {"en": "Not found.", "ja": "見つかりません。"},
    "login_required": {"en": "Please log in.", "ja": "ログインしてください。"},
    "error_page": {"en": "Something went wrong.", "ja": "エラーが発生しました。"},
    "back_home": {"en": "Back to the start page", "ja": "トップページへ戻る"},
    "open_a_lot": {"en": "Open lot", "ja": "ロット開始"},
    "close_the_lot": {"en": "Close lot", "ja": "ロット終了"},
    "lot": {"en": "Lot", "ja": "ロット"},
    "status": {"en": "Status", "ja": "ステータス"},
    "open": {"en": "open", "ja": "処理中"},
    "closed": {"en": "closed", "ja": "終了"},
    "opened_at": {"en": "Opened", "ja": "開始"},
    "closed_at": {"en": "Closed", "ja": "終了"},
    "recycler": {"en": "Recycler", "ja": "リサイクラー"},
    "search": {"en": "Search", "ja": "検索"},
    "all": {"en": "all", "ja": "すべて"},
    "composition": {"en": "Composition (share, 95 % CI)", "ja": "組成（割合・95%信頼区間）"},
    "by_mass": {"en": "by mass", "ja": "質量基準"},
    "by_count": {"en": "by count", "ja": "個数基準"},
    "contaminants": {"en": "Contaminants", "ja": "有害物質"},
    "element": {"en": "Element", "ja": "元素"},
    "mean": {"en": "Mean", "ja": "平均"},
    "p95": {"en": "P95", "ja": "95パーセンタイル"},
    "max": {"en": "Max", "ja": "最大"},
    "threshold": {"en": "Threshold", "ja": "閾値"},
    "share_above": {"en": "Share above (95 % CI)", "ja": "閾値超過の割合（95%信頼区間）"},
    "flag": {"en": "Flag", "ja": "判定"},
    "flag_over": {"en": "over", "ja": "超過"},
    "flag_some": {"en": "some items above", "ja": "一部超過"},
    "flag_ok": {"en": "ok", "ja": "適合"},
    "product_models": {"en": "Product models seen", "ja": "確認された製品型式"},
    "model": {"en": "Model", "ja": "型式"},
    "count": {"en": "Count", "ja": "個数"},
    "conformance": {"en": "Conformance per spec", "ja": "仕様ごとの適合性"},
    "spec": {"en": "Spec", "ja": "仕様"},
    "result": {"en": "Result", "ja": "結果"},
    "lineage": {"en": "Lineage (inputs → steps → outputs)", "ja": "由来（投入 → 工程 → 産出）"},
    "evidence": {"en": "Evidence downloads", "ja": "エビデンスのダウンロード"},
    "not_available": {"en": "not available", "ja": "利用できません"},
    "no_data": {"en": "No data yet.", "ja": "データがまだありません。"},
    "kind": {"en": "Kind", "ja": "種類"},
    "where": {"en": "Where", "ja": "場所"},
    "detail": {"en": "Detail", "ja": "詳細"},
    "since": {"en": "Since", "ja": "発生時刻"},
    "no_alarms": {"en": "No alarms.", "ja": "アラームはありません。"},
    "alarm_spec": {"en": "spec exceedance", "ja": "仕様超過"},
    "alarm_balance": {"en": "mass-balance violation", "ja": "マスバランス違反"},
    "alarm_device": {"en": "device outage", "ja": "機器停止"},
    "alarm_outbox": {"en": "outbox backlog", "ja": "送信滞留"},
    "alarm_agent": {"en": "agent alarm", "ja": "エージェントアラーム"},
    "observed": {"en": "Observed", "ja": "読取内容"},
    "candidates": {"en": "Candidates", "ja": "候補"},
    "confirm": {"en": "Confirm", "ja": "確定"},
    "score": {"en": "Score", "ja": "スコア"},
    "forbidden": {"en": "Your role may not see this page.", "ja": "このページを表示する権限がありません。"},
    "login_failed": {"en": "Invalid or revoked token.", "ja": "トークンが無効または失効しています。"},
    "too_many": {"en": "Too many failed attempts; wait a minute.",
                 "ja": "失敗が多すぎます。1分後に再試行してください。"},
    "dead_letters": {"en": "Rejected payloads (parse errors at the gateway)",
                     "ja": "受信拒否（ゲートウェイでの解析エラー）"},
    "reason": {"en": "Reason", "ja": "理由"},
    "received": {"en": "Received", "ja": "受信時刻"},
    "dead_help": {"en": "Nothing here is counted in any lot. After a fix (a wider clock window, a corrected ACL, a "
                  "new release), replay validates a payload again and stores it if it now passes; a payload "
                  "still refused keeps its new reason.",
                  "ja": "ここにあるデータはどのロットにも計上されていません。修正後（時刻範囲の拡大、ACLの修正、新しい"
                  "リリースなど）に再処理すると、改めて検証し、合格したものだけを保存します。拒否が続く場合は新しい"
                  "理由が記録されます。"},
    "dead_replay": {"en": "Replay", "ja": "再処理"},
    "dead_replayed": {"en": "stored by a replay", "ja": "再処理で保存済み"},
    "dead_head_only": {"en": "only its head was kept: the agent holds it",
                       "ja": "先頭のみ保存（本体はエージェント側）"},
    "older": {"en": "Older", "ja": "さらに古いもの"},
    "live": {"en": "live", "ja": "ライブ"},
    # upload outbox page (gateway/upload)
    "uploads": {"en": "Uploads (EPCIS capture, recycler webhooks)",
                "ja": "送信（EPCISキャプチャ・リサイクラーWebhook）"},
    "uploads_nav": {"en": "Uploads", "ja": "送信"},
    "upload_pending": {"en": "pending", "ja": "送信待ち"},
    "upload_polling": {"en": "awaiting capture job", "ja": "キャプチャ処理待ち"},
    "upload_done": {"en": "delivered", "ja": "送信済み"},
    "upload_failed": {"en": "failed", "ja": "失敗"},
    "upload_all": {"en": "all", "ja": "すべて"},
    "upload_kind_epcis": {"en": "EPCIS capture", "ja": "EPCISキャプチャ"},
    "upload_kind_webhook": {"en": "webhook", "ja": "Webhook"},
    "upload_kind_untp": {"en": "UNTP credential", "ja": "UNTPクレデンシャル"},
    "upload_target": {"en": "Target", "ja": "送信先"},
    "upload_attempts": {"en": "Attempts", "ja": "試行回数"},
    "upload_next": {"en": "Next attempt", "ja": "次回試行"},
    "upload_retry": {"en": "Retry", "ja": "再送"},
    "upload_skipped": {"en": "Closed lots not queued (no evidence can be issued)",
                       "ja": "送信対象外のクローズ済みロット（証明書を発行できません）"},
    "upload_worker_on": {"en": "The upload worker runs every {interval} s; a row fails after {attempts} attempts "
                               "(a permanent refusal at once).",
                         "ja": "送信ワーカーは {interval} 秒ごとに動作します。{attempts} 回試行して失敗した行"
                               "（恒久的な拒否は即時）は失敗になります。"},
    "upload_publish_on_close": {"en": "Every closed lot is queued.", "ja": "クローズしたロットは自動で送信されます。"},
    "upload_worker_off": {"en": "No upload worker runs in this gateway (upload.enabled is off): rows wait for "
                                "`junkan gateway evidence-upload`.",
                          "ja": "このゲートウェイでは送信ワーカーは動作していません（upload.enabled がオフ）。"
                                "`junkan gateway evidence-upload` で送信されます。"},
}


# Process step kinds (the lineage graph's step nodes): the one vocabulary the evidence page and certificate use.
LABELS.update({f"step_{kind}": {"en": kind, "ja": term(kind, "ja")}
               for kind in get_args(StepIn.model_fields["kind"].annotation)})


# Tooltips of the evidence download links in Japanese (English: the exporter's own description).
FORMAT_LABELS: dict[str, dict[str, str]] = {
    "fmt_pdf": {"en": "PDF certificate", "ja": "PDF証明書（英語）"},
    "fmt_pdf-ja": {"en": "PDF certificate in Japanese", "ja": "PDF証明書（日本語）"},
    "fmt_html-ja": {"en": "readable page in Japanese", "ja": "閲覧用ページ（日本語）"},
    "fmt_json": {"en": "evidence document", "ja": "エビデンス文書（JSON）"},
    "fmt_html": {"en": "readable page", "ja": "閲覧用ページ（HTML）"},
    "fmt_epcis": {"en": "GS1 EPCIS 2.0 document", "ja": "GS1 EPCIS 2.0 文書"},
    "fmt_untp-dcc": {"en": "UNTP conformity credential", "ja": "UNTP 適合性クレデンシャル"},
    "fmt_untp-dte": {"en": "UNTP traceability events", "ja": "UNTP トレーサビリティイベント"},
    "fmt_catenax": {"en": "Catena-X secondary material content", "ja": "Catena-X 再生材含有データ"},
    "fmt_jws": {"en": "signed evidence (VC-JWT)", "ja": "署名付きエビデンス（VC-JWT）"},
    "fmt_ipc1752a": {"en": "IPC-1752A material declaration", "ja": "IPC-1752A 材料宣言"},
    "fmt_untp-dpp": {"en": "UNTP digital product passport", "ja": "UNTP デジタル製品パスポート"},
    "fmt_untp-dpp-vc": {"en": "UNTP product passport, signed", "ja": "UNTP デジタル製品パスポート（署名付き）"},
}
LABELS.update(FORMAT_LABELS)


def translator(lang: str) -> Callable[..., str]:
    """``t(key, **values)`` for templates: the label in ``lang`` (English, then the key itself as fallbacks),
    with ``{name}`` fields filled from ``values``."""
    lang = lang if lang in LANGS else "en"

    def t(key: str, **values: object) -> str:
        entry = LABELS.get(key)
        text = (entry.get(lang) or entry["en"]) if entry else key
        return text.format(**values) if values else text

    return t


def js_labels(lang: str) -> dict[str, str]:
    """What dashboard.js writes into the page after a live update (device states, button results)."""
    t = translator(lang)
    keys = ("alive", "stale", "error", "starting", "unavailable", "offline", "online", "open", "closed",
            "act_open", "act_close", "no_open_lot", "saved", "imported", "bad_json")
    return {k: t(k) for k in keys}


def negotiate(cookie: str | None, accept_language: str | None) -> str:
    """The ``lang`` cookie if set, else the best of ``Accept-Language`` (q-values honoured), else English."""
    if cookie in LANGS:
        return str(cookie)
    best, best_q = "en", 0.0
    for part in (accept_language or "").split(","):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGS and q > best_q:
            best, best_q = primary, q
    return best

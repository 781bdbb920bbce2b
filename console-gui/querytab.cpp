#include "querytab.h"

#include "client/adminsession.h"
#include "jsontreemodel.h"
#include "queryresultmodel.h"
#include "statuspalette.h"
#include "tabsupport.h"

#include "query/answer.h"
#include "query/predicate.h"

#include <QAction>
#include <QApplication>
#include <QClipboard>
#include <QComboBox>
#include <QFileDialog>
#include <QFontDatabase>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QJsonArray>
#include <QJsonDocument>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSaveFile>
#include <QSortFilterProxyModel>
#include <QSpinBox>
#include <QSplitter>
#include <QStyle>
#include <QTableView>
#include <QTextBlock>
#include <QToolButton>
#include <QTreeView>
#include <QVBoxLayout>

namespace Swamp::Console {

namespace {
const QStringList &examplePredicates()
{
    static const QStringList examples{
        QStringLiteral("modelType == \"swamp/worker\""),
        QStringLiteral("modelType == \"swamp/enrollment-token\""),
        QStringLiteral("modelType == \"swamp/step-lease\""),
        QStringLiteral("modelType == \"swamp/worker\" && attributes.status == \"idle\""),
        QStringLiteral("modelType == \"swamp/worker\" && attributes.lastSeenAt < now - duration(\"5m\")"),
        QStringLiteral("modelType == \"swamp/step-lease\" && attributes.state == \"active\""),
    };
    return examples;
}
} // namespace

QueryTab::QueryTab(AdminSession *session, QWidget *parent)
    : QWidget(parent)
    , m_session(session)
    , m_editor(new QPlainTextEdit(this))
    , m_select(new QLineEdit(this))
    , m_limit(new QSpinBox(this))
    , m_examples(new QComboBox(this))
    , m_validation(new QLabel(this))
    , m_status(new QLabel(this))
    , m_model(new QueryResultModel(this))
    , m_proxy(new QSortFilterProxyModel(this))
    , m_view(new QTableView(this))
    , m_treeModel(new JsonTreeModel(this))
    , m_tree(new QTreeView(this))
    , m_splitter(new QSplitter(Qt::Vertical, this))
    , m_run(new QAction(style()->standardIcon(QStyle::SP_MediaPlay), tr("&Run query"), this))
    , m_export(new QAction(style()->standardIcon(QStyle::SP_DialogSaveButton), tr("E&xport JSON…"), this))
    , m_copyValue(new QAction(tr("&Copy value"), this))
    , m_copyResult(new QAction(tr("&Copy result as JSON"), this))
{
    setUpEditors();
    setUpActions();
    QToolButton *runButton = createActionButton(m_run, this);
    QToolButton *exportButton = createActionButton(m_export, this);
    connectEditors();
    setUpResults();
    setUpLayout(runButton, exportButton);
    connect(m_session, &AdminSession::stateChanged, this,
            [this] { m_run->setEnabled(m_valid && isOnline(m_session)); });
    validate();
}

// The predicate and the projection in a fixed font; the editor is two to four lines high.
void QueryTab::setUpEditors()
{
    const QFont fixed = QFontDatabase::systemFont(QFontDatabase::FixedFont);
    m_editor->setFont(fixed);
    m_editor->setTabChangesFocus(true);
    m_editor->setPlaceholderText(tr("modelType == \"swamp/worker\" && attributes.status == \"idle\""));
    m_editor->setMinimumHeight(QFontMetrics(fixed).lineSpacing() * 2 + 12);
    m_editor->setMaximumHeight(QFontMetrics(fixed).lineSpacing() * 4 + 12);
    m_select->setFont(fixed);
    m_select->setPlaceholderText(tr("optional projection, e.g. {\"name\": name, \"status\": attributes.status}"));
    m_select->setClearButtonEnabled(true);
    m_limit->setRange(0, 1000000);
    m_limit->setSpecialValueText(tr("unlimited"));
    m_limit->setValue(0);
    m_examples->addItem(tr("Examples…"));
    for (const QString &example : examplePredicates())
        m_examples->addItem(example);
    m_validation->setWordWrap(true);
    m_validation->setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Preferred);
    m_validation->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_status->setWordWrap(true);
    m_status->setTextInteractionFlags(Qt::TextSelectableByMouse);
}

void QueryTab::setUpActions()
{
    m_run->setShortcuts({QKeySequence(Qt::CTRL | Qt::Key_Return), QKeySequence(Qt::CTRL | Qt::Key_Enter)});
    m_run->setShortcutContext(Qt::WidgetWithChildrenShortcut);
    m_run->setToolTip(tr("Run the query (Ctrl+Return)"));
    m_export->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_E));
    m_export->setShortcutContext(Qt::WidgetWithChildrenShortcut);
    m_export->setEnabled(false);
    addAction(m_run);
    addAction(m_export);
    connect(m_run, &QAction::triggered, this, &QueryTab::run);
    connect(m_export, &QAction::triggered, this, &QueryTab::exportResults);
    // Ctrl+C copies what has the focus: a node of the tree, or the table's selected result.
    m_copyValue->setShortcut(QKeySequence::Copy);
    m_copyValue->setShortcutContext(Qt::WidgetShortcut);
    m_copyResult->setShortcut(QKeySequence::Copy);
    m_copyResult->setShortcutContext(Qt::WidgetShortcut);
    connect(m_copyValue, &QAction::triggered, this, [this] {
        const QModelIndex current = m_tree->currentIndex();
        if (current.isValid())
            QApplication::clipboard()->setText(current.siblingAtColumn(0).data(JsonTreeModel::JsonRole).toString());
    });
    connect(m_copyResult, &QAction::triggered, this, [this] {
        if (const QJsonValue result = selectedResult(); !result.isUndefined())
            QApplication::clipboard()->setText(JsonTreeModel::copyText(result));
    });
}

// Every change is validated at once; an example replaces the predicate.
void QueryTab::connectEditors()
{
    connect(m_editor, &QPlainTextEdit::textChanged, this, &QueryTab::validate);
    connect(m_select, &QLineEdit::textChanged, this, &QueryTab::validate);
    connect(m_select, &QLineEdit::returnPressed, this, &QueryTab::run);
    connect(m_examples, &QComboBox::activated, this, [this](int index) {
        if (index > 0)
            setPredicate(m_examples->itemText(index));
        m_examples->setCurrentIndex(0);
        m_editor->setFocus();
    });
}

void QueryTab::setUpResults()
{
    m_proxy->setSourceModel(m_model);
    m_proxy->setSortRole(QueryResultModel::SortRole);
    m_view->setModel(m_proxy);
    m_view->setSortingEnabled(true);
    m_view->setAlternatingRowColors(true);
    m_view->setWordWrap(false);
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_view->verticalHeader()->setVisible(false);
    m_view->horizontalHeader()->setStretchLastSection(true);
    connect(m_model, &QAbstractItemModel::modelReset, this, [this] {
        m_view->resizeColumnsToContents();
        for (int column = 0; column < m_model->columnCount(); ++column)
            m_view->setColumnWidth(column, std::min(m_view->columnWidth(column), 320));
        selectResult(0);
    });
    connect(m_view->selectionModel(), &QItemSelectionModel::selectionChanged, this, &QueryTab::showSelectedResult);
    m_view->addAction(m_copyResult);
    m_view->setContextMenuPolicy(Qt::ActionsContextMenu);

    m_tree->setModel(m_treeModel);
    m_tree->setAlternatingRowColors(true);
    m_tree->setUniformRowHeights(true);
    m_tree->setAllColumnsShowFocus(true);
    m_tree->header()->setStretchLastSection(false);
    m_tree->header()->setSectionResizeMode(JsonTreeModel::Value, QHeaderView::Stretch);
    m_tree->setColumnWidth(JsonTreeModel::Key, 220);
    m_tree->addAction(m_copyValue);
    m_tree->setContextMenuPolicy(Qt::ActionsContextMenu);
    m_splitter->addWidget(m_view);
    m_splitter->addWidget(m_tree);
    // The tree gets room for a worker's attributes without scrolling at the default size.
    m_splitter->setStretchFactor(0, 1);
    m_splitter->setStretchFactor(1, 1);
    m_splitter->setSizes({170, 230});
    m_splitter->setChildrenCollapsible(false);
}

void QueryTab::selectResult(int row)
{
    if (row >= 0 && row < m_proxy->rowCount())
        selectAndReveal(m_view, m_proxy->index(row, 0));
    else
        showSelectedResult();
}

QJsonValue QueryTab::selectedResult() const
{
    const QModelIndexList rows = m_view->selectionModel()->selectedRows();
    if (rows.isEmpty())
        return QJsonValue(QJsonValue::Undefined);
    return m_model->results().at(m_proxy->mapToSource(rows.first()).row());
}

// The selected result as a tree; a record's attributes are open, deeper levels closed.
void QueryTab::showSelectedResult()
{
    const QJsonValue result = selectedResult();
    m_treeModel->setValue(result);
    if (const QModelIndex attributes = m_treeModel->find({QStringLiteral("attributes")}); attributes.isValid())
        m_tree->expand(attributes);
    else if (m_treeModel->rowCount() == 1)
        m_tree->expand(m_treeModel->index(0, 0));
}

void QueryTab::setUpLayout(QToolButton *runButton, QToolButton *exportButton)
{
    auto *form = new QFormLayout;
    form->setFieldGrowthPolicy(QFormLayout::ExpandingFieldsGrow);
    form->addRow(tr("&Predicate:"), m_editor);
    auto *options = new QHBoxLayout;
    options->addWidget(m_select, 1);
    auto *limitLabel = new QLabel(tr("&Limit:"), this);
    limitLabel->setBuddy(m_limit);
    options->addWidget(limitLabel);
    options->addWidget(m_limit);
    auto *selectLabel = new QLabel(tr("&Select:"), this);
    selectLabel->setBuddy(m_select);
    form->addRow(selectLabel, options);
    auto *buttons = new QHBoxLayout;
    buttons->addWidget(runButton);
    buttons->addWidget(exportButton);
    buttons->addWidget(m_examples, 1);
    form->addRow(QString(), buttons);
    form->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);

    auto *layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(m_validation);
    layout->addWidget(m_status);
    layout->addWidget(m_splitter, 1);
    setTabOrder(m_editor, m_select);
    setTabOrder(m_select, m_limit);
    setTabOrder(m_limit, runButton);
    setTabOrder(runButton, exportButton);
    setTabOrder(exportButton, m_examples);
    setTabOrder(m_examples, m_view);
    setTabOrder(m_view, m_tree);
}

QString QueryTab::validationText() const
{
    return m_validation->text();
}

QString QueryTab::statusText() const
{
    return m_status->text();
}

void QueryTab::setPredicate(const QString &predicate)
{
    m_editor->setPlainText(predicate);
    QTextCursor cursor = m_editor->textCursor();
    cursor.movePosition(QTextCursor::End);
    m_editor->setTextCursor(cursor);
}

void QueryTab::validate()
{
    m_editor->setExtraSelections({});
    m_errorSpan = {0, 0};
    m_validation->clear();
    const QString predicate = m_editor->toPlainText().trimmed();
    m_valid = false;
    if (predicate.isEmpty()) {
        m_run->setEnabled(false);
        return;
    }
    auto compiled = Query::Predicate::compile(m_editor->toPlainText());
    if (!compiled) {
        showError(compiled.error(), true);
        m_run->setEnabled(false);
        return;
    }
    const QString select = m_select->text().trimmed();
    if (!select.isEmpty()) {
        if (auto projection = Query::Predicate::compile(select); !projection) {
            showError(projection.error(), false);
            m_run->setEnabled(false);
            return;
        }
    }
    m_valid = true;
    m_run->setEnabled(isOnline(m_session));
}

void QueryTab::showError(const Error &error, bool fromPredicate)
{
    QString text = fromPredicate ? error.message : tr("--select: %1").arg(error.message);
    const QString suggestion = error.details.value(QStringLiteral("suggestion")).toString();
    if (!suggestion.isEmpty() && !error.message.contains(suggestion))
        text += u'\n' + tr("Did you mean \"%1\"?").arg(suggestion);
    else if (!error.fix.isEmpty())
        text += u'\n' + error.fix;
    m_validation->setText(text);
    QPalette palette = m_validation->palette();
    palette.setColor(QPalette::WindowText, StatusPalette::readable(QColor(0xb3, 0x1d, 0x1d), this->palette()));
    m_validation->setPalette(palette);

    if (!fromPredicate || !error.details.contains(QStringLiteral("position")))
        return;
    const int length = m_editor->document()->characterCount() - 1;
    const int start = std::clamp(error.details.value(QStringLiteral("position")).toInt(), 0, std::max(0, length));
    const int span = std::clamp(error.details.value(QStringLiteral("length")).toInt(1), 1, std::max(1, length - start + 1));
    m_errorSpan = {start, span};
    QTextEdit::ExtraSelection selection;
    selection.cursor = QTextCursor(m_editor->document());
    selection.cursor.setPosition(start);
    selection.cursor.setPosition(std::min(start + span, length), QTextCursor::KeepAnchor);
    if (selection.cursor.selectionStart() == selection.cursor.selectionEnd() && start > 0)
        selection.cursor.setPosition(start - 1, QTextCursor::KeepAnchor); // at the end: mark the last character
    selection.format.setUnderlineStyle(QTextCharFormat::WaveUnderline);
    selection.format.setUnderlineColor(StatusPalette::readable(QColor(0xd0, 0x20, 0x20), palette));
    selection.format.setToolTip(error.message);
    m_editor->setExtraSelections({selection});
}

void QueryTab::run()
{
    validate();
    if (!m_valid)
        return;
    QJsonObject params{{QStringLiteral("predicate"), m_editor->toPlainText()}};
    if (!m_select->text().trimmed().isEmpty())
        params.insert(QStringLiteral("select"), m_select->text().trimmed());
    else
        params.insert(QStringLiteral("rows"), true); // the rows form: about half the bytes (protocol.md)
    if (m_limit->value() > 0)
        params.insert(QStringLiteral("limit"), m_limit->value());
    m_status->setText(tr("Running…"));
    m_run->setEnabled(false);
    m_session->request(QStringLiteral("data.query"), params, this, [this](const Result<QJsonObject> &answer) {
        const Result<QJsonObject> result = Query::answerWithRecords(answer);
        m_run->setEnabled(m_valid && isOnline(m_session));
        if (!result) {
            m_model->clear();
            m_lastResponse = {};
            m_export->setEnabled(false);
            m_status->setText(tr("The query failed: %1").arg(result.error().text()));
            if (result.error().details.contains(QStringLiteral("position")))
                showError(result.error(), true);
            return;
        }
        m_lastResponse = *result;
        const QJsonArray results = result->value(QStringLiteral("results")).toArray();
        m_model->setResults(results);
        m_export->setEnabled(true);
        const int total = result->value(QStringLiteral("total")).toInt(int(results.size()));
        if (result->value(QStringLiteral("limited")).toBool())
            m_status->setText(tr("Showing %1 of %n result(s) (limited).", nullptr, total).arg(results.size()));
        else if (results.isEmpty())
            m_status->setText(tr("No record matches. Try a broader predicate, e.g. modelType == \"swamp/worker\"."));
        else
            m_status->setText(tr("%n result(s).", nullptr, int(results.size())));
    });
}

bool QueryTab::exportTo(const QString &path, QString *errorString) const
{
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly)) {
        if (errorString)
            *errorString = file.errorString();
        return false;
    }
    file.write(QJsonDocument(m_lastResponse).toJson(QJsonDocument::Indented));
    if (!file.commit()) {
        if (errorString)
            *errorString = file.errorString();
        return false;
    }
    return true;
}

void QueryTab::exportResults()
{
    if (m_lastResponse.isEmpty())
        return;
    const QString path = QFileDialog::getSaveFileName(this, tr("Export query results"),
                                                      QStringLiteral("query-results.json"),
                                                      tr("JSON files (*.json);;All files (*)"));
    if (path.isEmpty())
        return;
    QString error;
    if (exportTo(path, &error))
        m_status->setText(tr("Exported %n result(s) to %1.", nullptr, m_model->rowCount()).arg(path));
    else
        m_status->setText(tr("Could not write %1: %2").arg(path, error));
}

} // namespace Swamp::Console

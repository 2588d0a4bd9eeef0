-- The report's title block as metadata, so the PDF and HTML templates lay it out: the lone
-- leading `#` heading becomes `title`, the italic line after it `byline`, the paragraph that
-- opens with **Abstract.** `abstract` (without that label, which the templates print).
local function is_byline(block)
  return block and block.t == "Para" and #block.content == 1 and block.content[1].t == "Emph"
end

local function is_abstract(block)
  return block and block.t == "Para" and block.content[1] ~= nil
    and block.content[1].t == "Strong"
    and pandoc.utils.stringify(block.content[1]) == "Abstract."
end

function Pandoc(doc)
  local blocks = doc.blocks
  local first = blocks[1]
  if first and first.t == "Header" and first.level == 1 then
    doc.meta.title = pandoc.MetaInlines(first.content)
    blocks:remove(1)
  end
  if is_byline(blocks[1]) then
    doc.meta.byline = pandoc.MetaInlines(blocks[1].content[1].content)
    blocks:remove(1)
  end
  if is_abstract(blocks[1]) then
    local rest = blocks[1].content:clone()
    rest:remove(1)
    while rest[1] and (rest[1].t == "Space" or rest[1].t == "SoftBreak") do
      rest:remove(1)
    end
    doc.meta.abstract = pandoc.MetaBlocks({ pandoc.Para(rest) })
    blocks:remove(1)
  end
  return doc
end

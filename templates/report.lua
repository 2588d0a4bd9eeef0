-- The pandoc filter of the DOCX, PDF and HTML outputs.
--
-- 1. The report's title block becomes metadata the templates lay out: the lone leading `#`
--    heading is `title`, the italic line after it `byline`, the paragraph that opens with
--    **Abstract.** `abstract` (without that label, which the templates print).
-- 2. What model-written text might hold but a report must not pass on is made plain text:
--    raw HTML or Typst (`<script>`, ```{=typst}```) is dropped, `@name` stays the literal
--    text rather than a citation Typst cannot resolve, and an image that is neither a data
--    URI nor one of the report's own charts (metadata `images`) becomes its description, so
--    the page never fetches a URL and the PDF never fails on a missing file; a link keeps
--    only an http(s), mailto or in-page target.

local function is_byline(block)
  return block and block.t == "Para" and #block.content == 1 and block.content[1].t == "Emph"
end

local function is_abstract(block)
  return block and block.t == "Para" and block.content[1] ~= nil
    and block.content[1].t == "Strong"
    and pandoc.utils.stringify(block.content[1]) == "Abstract."
end

local function lift_title_block(doc)
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
  -- The demonstration-model note (a one-line quote under the byline) joins the title block.
  if blocks[1] and blocks[1].t == "BlockQuote" and #blocks[1].content == 1
    and blocks[1].content[1].t == "Para" then
    doc.meta.note = pandoc.MetaInlines(blocks[1].content[1].content)
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
end

local function own_images(meta)
  local allowed = {}
  local listed = meta.images
  if listed == nil then
    return allowed
  end
  if pandoc.utils.type(listed) ~= "List" then
    listed = { listed }
  end
  for _, src in ipairs(listed) do
    allowed[pandoc.utils.stringify(src)] = true
  end
  return allowed
end

function Pandoc(doc)
  local allowed = own_images(doc.meta)
  doc.meta.images = nil
  doc = doc:walk({
    RawBlock = function() return {} end,
    RawInline = function() return {} end,
    Cite = function(cite) return cite.content end,
    -- A link keeps only a web, mail or in-page target; `javascript:`, `file:` and the like
    -- become their text, so no reader of any format is one click from them.
    Link = function(link)
      local target = link.target:lower()
      if target:match("^https?://") or target:match("^mailto:") or target:sub(1, 1) == "#" then
        return nil
      end
      return link.content
    end,
    Image = function(image)
      if image.src:sub(1, 5) == "data:" or allowed[image.src] then
        return nil
      end
      return image.caption
    end,
  })
  lift_title_block(doc)
  if FORMAT == "docx" then
    -- Word's title block has Subtitle and Author lines, no byline or note.
    doc.meta.author, doc.meta.byline = doc.meta.byline, nil
    doc.meta.subtitle, doc.meta.note = doc.meta.note, nil
  end
  return doc
end
